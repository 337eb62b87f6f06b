using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>A response read by <see cref="RawHttpClient"/>.</summary>
public sealed record RawHttpResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>The server closed the connection before the response was complete.</summary>
public sealed class ClosedEarlyException(string message) : IOException(message);

/// <summary>
/// One HTTP/1.1 request on a brand-new TCP connection with <c>Connection: close</c>, the way a client without a
/// connection pool behaves. HttpClient pools and retries; this client does neither, so every accept-queue or
/// listener problem in the daemon surfaces here as a failure instead of being papered over.
/// </summary>
public static class RawHttpClient
{
    private const int MaxHeaderBytes = 64 * 1024;

    /// <param name="tls">When set, TLS with the certificate pinned (HTTP/1.1 via ALPN).</param>
    public static Task<RawHttpResponse> GetAsync(IPEndPoint endPoint, string pathAndQuery, string? hostHeader,
        TestCertificate? tls, CancellationToken cancellationToken) =>
        GetAsync(endPoint, pathAndQuery, hostHeader, tls, [], TimeSpan.Zero, cancellationToken);

    /// <param name="preface">Raw bytes sent first, before TLS and the request (a PROXY protocol header), one TCP
    /// write each.</param>
    /// <param name="pause">Between two preface writes: with Nagle off, each write then leaves as a segment of its own.</param>
    public static async Task<RawHttpResponse> GetAsync(IPEndPoint endPoint, string pathAndQuery, string? hostHeader,
        TestCertificate? tls, IReadOnlyList<byte[]> preface, TimeSpan pause, CancellationToken cancellationToken) =>
        (await GetAsync(endPoint, pathAndQuery, hostHeader, tls, preface, pause, readToClose: false, cancellationToken)).Response;

    /// <summary>A plain GET as above, and then reads on until the server closes the connection: FIN, or RST.</summary>
    public static Task<(RawHttpResponse Response, TcpEnd? End)> GetToCloseAsync(IPEndPoint endPoint, string pathAndQuery,
        CancellationToken cancellationToken) =>
        GetAsync(endPoint, pathAndQuery, null, null, [], TimeSpan.Zero, readToClose: true, cancellationToken);

    private static async Task<(RawHttpResponse Response, TcpEnd? End)> GetAsync(IPEndPoint endPoint, string pathAndQuery,
        string? hostHeader, TestCertificate? tls, IReadOnlyList<byte[]> preface, TimeSpan pause, bool readToClose,
        CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(endPoint, cancellationToken);
        Stream stream = tcp.GetStream();
        SslStream? ssl = null;
        try
        {
            for (var i = 0; i < preface.Count; i++)
            {
                // A pause, not an event: what is tested is the daemon's side of a segment boundary, which the client
                // cannot observe.
                if (i > 0) await Task.Delay(pause, cancellationToken);
                await stream.WriteAsync(preface[i], cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
            if (tls is not null)
            {
                ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await AuthenticateAsync(ssl, tls, cancellationToken);
                stream = ssl;
            }
            var request = $"GET {pathAndQuery} HTTP/1.1\r\nHost: {hostHeader ?? endPoint.ToString()}\r\n" +
                          "User-Agent: pingora-e2e-raw\r\nAccept: */*\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            var reader = new BufferedReader(stream);
            var response = await ReadResponseAsync(reader, cancellationToken);
            return (response, readToClose ? await reader.ReadToCloseAsync(cancellationToken) : null);
        }
        finally
        {
            if (ssl is not null) await ssl.DisposeAsync();
        }
    }

    private static async Task AuthenticateAsync(SslStream ssl, TestCertificate tls, CancellationToken cancellationToken)
    {
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = tls.ValidationCallback,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, cancellationToken);
        }
        catch (IOException e) when (e.InnerException is not SocketException)
        {
            // SslStream reports a peer that closed mid-handshake as a bare IOException.
            throw new ClosedEarlyException($"connection closed during the TLS handshake: {e.Message}");
        }
    }

    private static async Task<RawHttpResponse> ReadResponseAsync(BufferedReader reader, CancellationToken ct)
    {
        var statusLine = await reader.ReadLineAsync(ct, "the status line");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new InvalidDataException($"not an HTTP/1.x status line: '{statusLine}'");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            var line = await reader.ReadLineAsync(ct, "the response headers");
            if (line.Length == 0) break;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new InvalidDataException($"malformed header line: '{line}'");
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
        }

        byte[] body;
        if (status is >= 100 and < 200 or 204 or 304)
            body = [];
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            body = await ReadChunkedAsync(reader, ct);
        else if (headers.TryGetValue("Content-Length", out var cl))
            body = await reader.ReadExactlyAsync(long.Parse(cl, CultureInfo.InvariantCulture), ct, "the body");
        else
            body = await reader.ReadToEndAsync(ct);
        return new RawHttpResponse(status, headers, body);
    }

    private static async Task<byte[]> ReadChunkedAsync(BufferedReader reader, CancellationToken ct)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var sizeLine = await reader.ReadLineAsync(ct, "a chunk size");
            var size = long.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0) break;
            body.Write(await reader.ReadExactlyAsync(size, ct, "a chunk"));
            if ((await reader.ReadLineAsync(ct, "a chunk terminator")).Length != 0)
                throw new InvalidDataException("chunk not followed by CRLF");
        }
        while ((await reader.ReadLineAsync(ct, "the trailers")).Length != 0) { }
        return body.ToArray();
    }

    /// <summary>Just enough buffering to read CRLF lines and exact byte counts from a stream.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;
        private long _consumed;

        public async Task<string> ReadLineAsync(CancellationToken ct, string what)
        {
            var line = new List<byte>();
            while (true)
            {
                for (; _start < _end; _start++)
                {
                    var b = _buffer[_start];
                    if (b == (byte)'\n')
                    {
                        _start++;
                        _consumed += line.Count + 1;
                        if (line.Count > 0 && line[^1] == (byte)'\r') line.RemoveAt(line.Count - 1);
                        return Encoding.Latin1.GetString(line.ToArray());
                    }
                    line.Add(b);
                    if (line.Count > MaxHeaderBytes) throw new InvalidDataException($"line too long while reading {what}");
                }
                if (!await FillAsync(ct))
                    throw new ClosedEarlyException($"connection closed after {_consumed + line.Count} bytes, while reading {what}");
            }
        }

        public async Task<byte[]> ReadExactlyAsync(long count, CancellationToken ct, string what)
        {
            var result = new byte[count];
            long filled = 0;
            while (filled < count)
            {
                if (_start == _end && !await FillAsync(ct))
                    throw new ClosedEarlyException($"connection closed after {filled} of {count} bytes of {what}");
                var n = (int)Math.Min(_end - _start, count - filled);
                Buffer.BlockCopy(_buffer, _start, result, (int)filled, n);
                _start += n;
                filled += n;
            }
            _consumed += count;
            return result;
        }

        public async Task<byte[]> ReadToEndAsync(CancellationToken ct)
        {
            using var rest = new MemoryStream();
            do
            {
                rest.Write(_buffer, _start, _end - _start);
                _start = _end;
            } while (await FillAsync(ct));
            return rest.ToArray();
        }

        public async Task<TcpEnd> ReadToCloseAsync(CancellationToken ct)
        {
            _start = _end;
            return await TcpEnds.ReadToEndAsync(stream, ct);
        }

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, ct);
            return _end > 0;
        }
    }
}
