using System.Net.Sockets;
using System.Text;

namespace LoadGen;

/// <summary>The server closed the connection (EOF) before the response was complete.</summary>
public sealed class ClosedEarlyException(bool anyByte) : Exception("connection closed before the response was complete")
{
    /// <summary>False when not one byte of the response had arrived (a keep-alive connection closed while idle).</summary>
    public bool AnyByte { get; } = anyByte;
}

public sealed class ProtocolException(string message) : Exception(message);

/// <summary>
/// Reads one HTTP/1.1 response from a socket: status line, headers, then the body by Content-Length, chunked
/// encoding or until EOF. The body is read and discarded. One reader per connection; its buffer is reused.
/// </summary>
public sealed class ResponseReader(Socket socket)
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] LineEnd = "\r\n"u8.ToArray();

    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;
    private bool _anyByte;

    public bool AnyByte => _anyByte;

    public readonly record struct Response(int Status, bool Close);

    public async ValueTask<Response> ReadAsync(bool headRequest, CancellationToken cancel)
    {
        _anyByte = _end > _start;
        var headerEnd = await ReadUntilAsync(HeaderEnd, cancel);
        var (status, contentLength, chunked, close) = ParseHead(_buffer.AsSpan(_start, headerEnd - _start));
        _start = headerEnd + 4;

        var noBody = headRequest || status is 204 or 304 || status < 200;
        if (noBody) { }
        else if (chunked) await SkipChunkedAsync(cancel);
        else if (contentLength >= 0) await SkipAsync(contentLength, cancel);
        else
        {
            // No length: the body ends at EOF.
            while (await FillAsync(cancel) > 0) _start = _end;
            _start = _end = 0;
            return new Response(status, true);
        }
        return new Response(status, close);
    }

    private static (int Status, long ContentLength, bool Chunked, bool Close) ParseHead(ReadOnlySpan<byte> head)
    {
        var text = Encoding.ASCII.GetString(head);
        var lines = text.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        if (statusParts.Length < 2 || !statusParts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(statusParts[1], out var status))
            throw new ProtocolException($"bad status line: {lines[0]}");
        long contentLength = -1;
        var chunked = false;
        var close = statusParts[0] == "HTTP/1.0";
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon <= 0) continue;
            var name = lines[i].AsSpan(0, colon).Trim();
            var value = lines[i].AsSpan(colon + 1).Trim();
            if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase)) contentLength = long.Parse(value);
            else if (name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)) chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            else if (name.Equals("connection", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Contains("close", StringComparison.OrdinalIgnoreCase)) close = true;
                else if (value.Contains("keep-alive", StringComparison.OrdinalIgnoreCase)) close = false;
            }
        }
        return (status, contentLength, chunked, close);
    }

    /// <summary>Returns the index (in the buffer) where <paramref name="delimiter"/> starts, reading as needed.</summary>
    private async ValueTask<int> ReadUntilAsync(byte[] delimiter, CancellationToken cancel)
    {
        var scanned = 0; // bytes after _start known not to begin a match (FillAsync may move _start, not the data after it)
        while (true)
        {
            var found = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf(delimiter);
            if (found >= 0) return _start + scanned + found;
            scanned = Math.Max(0, _end - _start - delimiter.Length + 1);
            if (await FillAsync(cancel) == 0) throw new ClosedEarlyException(_anyByte);
        }
    }

    /// <summary>Reads more bytes after <c>_end</c>, compacting the buffer first if it is full. 0 at EOF.</summary>
    private async ValueTask<int> FillAsync(CancellationToken cancel)
    {
        if (_end == _buffer.Length)
        {
            if (_start == 0) throw new ProtocolException("response header larger than the buffer");
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var n = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancel);
        if (n > 0) { _end += n; _anyByte = true; }
        return n;
    }

    private async ValueTask SkipAsync(long count, CancellationToken cancel)
    {
        while (true)
        {
            var available = _end - _start;
            if (available >= count) { _start += (int)count; break; }
            count -= available;
            _start = _end = 0;
            if (await FillAsync(cancel) == 0) throw new ClosedEarlyException(true);
        }
        if (_start == _end) _start = _end = 0;
    }

    private async ValueTask SkipChunkedAsync(CancellationToken cancel)
    {
        while (true)
        {
            var lineEnd = await ReadUntilAsync(LineEnd, cancel);
            var line = Encoding.ASCII.GetString(_buffer, _start, lineEnd - _start);
            _start = lineEnd + 2;
            var semicolon = line.IndexOf(';');
            var size = Convert.ToInt64((semicolon >= 0 ? line[..semicolon] : line).Trim(), 16);
            if (size == 0)
            {
                // Trailers, if any, then the empty line.
                while (true)
                {
                    var end = await ReadUntilAsync(LineEnd, cancel);
                    var empty = end == _start;
                    _start = end + 2;
                    if (empty) return;
                }
            }
            await SkipAsync(size + 2, cancel);
        }
    }
}
