using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>
/// A TCP server on 127.0.0.1 that reads each request's headers and then misbehaves in a scripted way, so the load
/// client's failure classification can be checked against real sockets.
/// </summary>
internal sealed class ScriptedTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<TcpClient, NetworkStream, CancellationToken, Task> _behaviour;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    public ScriptedTcpServer(Func<TcpClient, NetworkStream, CancellationToken, Task> behaviour)
    {
        _behaviour = behaviour;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public Uri BaseUri => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>Reads up to the end of the request headers, so that closing afterwards sends FIN, not RST for
    /// unread data.</summary>
    public static async Task ReadRequestHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var seen = new StringBuilder();
        var buffer = new byte[1];
        while (!seen.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(buffer, ct) == 0) return;
            seen.Append((char)buffer[0]);
        }
    }

    public static Task WriteAsync(NetworkStream stream, string text, CancellationToken ct) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes(text), ct).AsTask();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            lock (_connections) _connections.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            await ReadRequestHeadAsync(stream, _stop.Token);
            await _behaviour(client, stream, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        Task[] connections;
        lock (_connections) connections = _connections.ToArray();
        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
