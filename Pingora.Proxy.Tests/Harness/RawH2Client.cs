using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>One HTTP/2 frame as <see cref="RawH2Client"/> received it, or (<see cref="End"/> set) the end of the connection.</summary>
public sealed record H2Event(DateTimeOffset At, int Type, int Flags, int StreamId, byte[] Payload, TcpEnd? End = null)
{
    public const int Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7;
    public const int EndStream = 0x1;

    /// <summary>RST_STREAM's error code, or GOAWAY's.</summary>
    public int ErrorCode => Type == RstStream ? BinaryPrimitives.ReadInt32BigEndian(Payload) : BinaryPrimitives.ReadInt32BigEndian(Payload.AsSpan(4));
    public int LastStreamId => BinaryPrimitives.ReadInt32BigEndian(Payload) & int.MaxValue;

    public override string ToString() => End is { } end ? $"{At:HH:mm:ss.fff} TCP {end}" :
        $"{At:HH:mm:ss.fff} type {Type} flags {Flags} stream {StreamId}" +
        (Type is RstStream or GoAway ? $" error {ErrorCode}" : "") + (Type == GoAway ? $" last {LastStreamId}" : "");
}

/// <summary>
/// A cleartext HTTP/2 client (prior knowledge) that shows every frame the server sends and how the TCP connection
/// ends, which HttpClient hides: GOAWAY, RST_STREAM and FIN versus RST are what a drain is judged on. It answers
/// SETTINGS and PING, as every client must, and sends nothing else on its own.
/// </summary>
public sealed class RawH2Client : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<H2Event> _events = Channel.CreateUnbounded<H2Event>();
    private readonly List<H2Event> _seen = [];
    private readonly string _authority;

    private RawH2Client(TcpClient tcp, string authority)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _authority = authority;
    }

    /// <summary>Every event taken so far by <see cref="NextAsync"/>, for assertion messages.</summary>
    public IReadOnlyList<H2Event> Seen => _seen;

    public static async Task<RawH2Client> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(endPoint, cancellationToken);
        var client = new RawH2Client(tcp, endPoint.ToString());
        await client._stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), cancellationToken);
        await client.WriteFrameAsync(H2Event.Settings, 0, 0, []);
        _ = client.ReadLoopAsync();
        return client;
    }

    /// <summary>A GET on <paramref name="streamId"/> (odd, increasing), headers only, END_STREAM set.</summary>
    public Task GetAsync(int streamId, string path)
    {
        var block = new List<byte> { 0x82, 0x86 }; // :method GET, :scheme http (HPACK static table)
        Literal(block, 4, path);                    // :path
        Literal(block, 1, _authority);              // :authority
        return WriteFrameAsync(H2Event.Headers, H2Event.EndStream | 0x4 /* END_HEADERS */, streamId, block.ToArray());
    }

    /// <summary>WINDOW_UPDATE (RFC 9113 §6.9) on <paramref name="streamId"/> (0: the connection): the client has
    /// consumed <paramref name="increment"/> more bytes of DATA. Without it a server stops sending after 65,535 bytes.</summary>
    public Task WindowUpdateAsync(int streamId, int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment & int.MaxValue);
        return WriteFrameAsync(WindowUpdate, 0, streamId, payload);
    }

    private const int WindowUpdate = 0x8;

    /// <summary>A literal header field without indexing, name from the static table, value not Huffman-coded.</summary>
    private static void Literal(List<byte> block, int nameIndex, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        if (bytes.Length >= 127) throw new ArgumentException("header value too long for this client", nameof(value));
        block.Add((byte)nameIndex);
        block.Add((byte)bytes.Length);
        block.AddRange(bytes);
    }

    /// <summary>The next event that matches, skipping others (all are kept in <see cref="Seen"/>).</summary>
    public async Task<H2Event> NextAsync(Func<H2Event, bool> match, string what, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var next = await _events.Reader.ReadAsync(cts.Token);
                _seen.Add(next);
                if (match(next)) return next;
                if (next.End is not null) throw new HarnessTimeoutException($"the connection ended before {what}: {string.Join("; ", _seen)}");
            }
        }
        catch (OperationCanceledException)
        {
            throw new HarnessTimeoutException($"timed out after {timeout.TotalSeconds:F1}s waiting for {what}: {string.Join("; ", _seen)}");
        }
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                if (!await FillAsync(header)) break;
                var length = header[0] << 16 | header[1] << 8 | header[2];
                var payload = new byte[length];
                if (!await FillAsync(payload)) break;
                var frame = new H2Event(DateTimeOffset.UtcNow, header[3], header[4],
                    BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
                if (frame.Type == H2Event.Settings && (frame.Flags & 1) == 0) await WriteFrameAsync(H2Event.Settings, 1, 0, []);
                if (frame.Type == H2Event.Ping && (frame.Flags & 1) == 0) await WriteFrameAsync(H2Event.Ping, 1, 0, payload);
                _events.Writer.TryWrite(frame);
            }
            _events.Writer.TryWrite(new H2Event(DateTimeOffset.UtcNow, -1, 0, 0, [], TcpEnd.Fin));
        }
        catch (Exception e) when (TcpEnds.IsReset(e))
        {
            _events.Writer.TryWrite(new H2Event(DateTimeOffset.UtcNow, -1, 0, 0, [], TcpEnd.Reset));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            _events.Writer.TryComplete(e);
        }
    }

    private async Task<bool> FillAsync(byte[] buffer)
    {
        for (var filled = 0; filled < buffer.Length;)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(filled));
            if (n == 0) return false;
            filled += n;
        }
        return true;
    }

    private async Task WriteFrameAsync(int type, int flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = (byte)type;
        frame[4] = (byte)flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(frame);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose() => _tcp.Dispose();
}
