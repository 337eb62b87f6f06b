using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A WebSocket client on a TCP socket the test owns (ClientWebSocket hides it), so that a test can see both what the
/// server said (close status) and how the connection then ended: FIN (a read returns 0) or RST (ECONNRESET).
/// </summary>
public sealed class RawWebSocketClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    public WebSocket Socket { get; }

    private RawWebSocketClient(TcpClient tcp, NetworkStream stream)
    {
        _tcp = tcp;
        _stream = stream;
        // A stream of its own: the WebSocket disposes its stream once the close handshake is done, and the socket must
        // outlive that so its end can be read.
        Socket = WebSocket.CreateFromStream(new NetworkStream(tcp.Client, ownsSocket: false),
            new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    }

    /// <summary>Opens a WebSocket with an HTTP/1.1 upgrade to <paramref name="path"/> and checks one echo through it.</summary>
    public static async Task<RawWebSocketClient> ConnectAsync(IPEndPoint endPoint, string path, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(endPoint, cancellationToken);
            var stream = new NetworkStream(tcp.Client, ownsSocket: false);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = $"GET {path} HTTP/1.1\r\nHost: {endPoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                          $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
            var head = await ReadHeadAsync(stream, cancellationToken);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                throw new InvalidDataException($"the upgrade was refused: {head}");
            var client = new RawWebSocketClient(tcp, stream);
            await client.EchoAsync("hello", cancellationToken);
            return client;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>The response head byte by byte, so that not one byte of the first frame is taken from the WebSocket.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^1] != '\n' || head[^2] != '\r' || head[^3] != '\n' || head[^4] != '\r')
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0) throw new IOException("closed before the upgrade response");
            head.Add(one[0]);
            if (head.Count > 16 * 1024) throw new InvalidDataException("upgrade response head too long");
        }
        return Encoding.Latin1.GetString(head.ToArray());
    }

    /// <summary>Sends a text message and expects it back.</summary>
    public async Task EchoAsync(string text, CancellationToken cancellationToken)
    {
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);
        var buffer = new byte[4096];
        var received = await Socket.ReceiveAsync(buffer, cancellationToken);
        var echoed = Encoding.UTF8.GetString(buffer, 0, received.Count);
        if (received.MessageType != WebSocketMessageType.Text || echoed != text)
            throw new InvalidDataException($"echo of '{text}' came back as {received.MessageType} '{echoed}'");
    }

    /// <summary>
    /// Reads until the server's close frame (messages before it are skipped), answers it as RFC 6455 says, then reads
    /// the socket itself to its end. Returns the close status and how the TCP connection ended.
    /// </summary>
    public async Task<(WebSocketCloseStatus? Status, TcpEnd End)> AwaitServerCloseAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while ((await Socket.ReceiveAsync(buffer, cancellationToken)).MessageType != WebSocketMessageType.Close) { }
        }
        catch (WebSocketException e) when (TcpEnds.IsReset(e))
        {
            return (null, TcpEnd.Reset);
        }
        catch (WebSocketException e) when (e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
        {
            return (null, await ReadToEndAsync(cancellationToken));
        }
        var status = Socket.CloseStatus;
        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        return (status, await ReadToEndAsync(cancellationToken));
    }

    private Task<TcpEnd> ReadToEndAsync(CancellationToken cancellationToken) => TcpEnds.ReadToEndAsync(_stream, cancellationToken);

    public void Dispose()
    {
        Socket.Dispose();
        _stream.Dispose();
        _tcp.Dispose();
    }
}
