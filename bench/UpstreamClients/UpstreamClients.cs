// Not part of pingora: compiled into a copy of its sources by bench/lib/upstream-clients.sh, which also makes
// ProxyHost register BenchClientFactory. The question it answers: how much of pingora's CPU per keep-alive request
// is YARP's upstream client (HttpClient's SocketsHttpHandler), i.e. what writing our own would buy.
//   PINGORA_BENCH_CLIENT=none  every request is answered at once with a fixed 200, no upstream I/O: the bound (no
//                              client can cost less than nothing).
//   PINGORA_BENCH_CLIENT=lean  a minimal HTTP/1.1 client: pooled sockets, the request written and the response
//                              parsed with spans, no validation. Only what the bench sends and its upstream
//                              answers (GET, Content-Length); not a client anyone should ship.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Yarp.ReverseProxy.Forwarder;

namespace Pingora.Proxy.Bench;

internal sealed class BenchClientFactory : IForwarderHttpClientFactory
{
    public HttpMessageInvoker CreateClient(ForwarderHttpClientContext context) =>
        Environment.GetEnvironmentVariable("PINGORA_BENCH_CLIENT") switch
        {
            "none" => new(new NoUpstream(), disposeHandler: true),
            "lean" => new(new LeanHttp11(), disposeHandler: true),
            var other => throw new InvalidOperationException($"PINGORA_BENCH_CLIENT={other}: none or lean"),
        };
}

internal sealed class NoUpstream : HttpMessageHandler
{
    private static readonly byte[] Body = Encoding.ASCII.GetBytes(Environment.GetEnvironmentVariable("PINGORA_BENCH_BODY") ?? "ok\n");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(Body);
        content.Headers.ContentType = new("text/plain");
        content.Headers.ContentLength = Body.Length; // else YARP sends it chunked
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
    }
}

internal sealed class LeanHttp11 : HttpMessageHandler
{
    private readonly ConcurrentBag<Connection> _idle = [];

    private sealed class Connection(Socket socket)
    {
        public readonly Socket Socket = socket;
        public readonly byte[] Buffer = new byte[16384];
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        if (!_idle.TryTake(out var connection))
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(uri.Host, uri.Port, cancellationToken);
            connection = new Connection(socket);
        }
        var buffer = connection.Buffer;
        var length = WriteRequest(request, uri, buffer);
        await connection.Socket.SendAsync(buffer.AsMemory(0, length), SocketFlags.None, cancellationToken);

        int received = 0, headEnd;
        while ((headEnd = buffer.AsSpan(0, received).IndexOf("\r\n\r\n"u8)) < 0)
            received += await Receive(connection, received, cancellationToken);
        var response = ParseHead(buffer.AsSpan(0, headEnd + 2), request, out var contentType, out var bodyLength);
        var bodyStart = headEnd + 4;
        while (received - bodyStart < bodyLength)
            received += await Receive(connection, received, cancellationToken);

        var content = new ByteArrayContent(buffer.AsSpan(bodyStart, bodyLength).ToArray());
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        content.Headers.ContentLength = bodyLength;
        response.Content = content;
        _idle.Add(connection);
        return response;
    }

    private static async ValueTask<int> Receive(Connection connection, int offset, CancellationToken cancellationToken)
    {
        var got = await connection.Socket.ReceiveAsync(connection.Buffer.AsMemory(offset), SocketFlags.None, cancellationToken);
        if (got == 0) throw new IOException("the upstream closed the connection");
        return got;
    }

    private static int WriteRequest(HttpRequestMessage request, Uri uri, byte[] buffer)
    {
        var span = buffer.AsSpan();
        var n = Encoding.ASCII.GetBytes(request.Method.Method, span);
        span[n++] = (byte)' ';
        n += Encoding.ASCII.GetBytes(uri.PathAndQuery, span[n..]);
        n += Copy(" HTTP/1.1\r\nHost: "u8, span[n..]);
        n += Encoding.ASCII.GetBytes(uri.Authority, span[n..]);
        n += Copy("\r\n"u8, span[n..]);
        foreach (var header in request.Headers.NonValidated)
            foreach (var value in header.Value)
            {
                n += Encoding.ASCII.GetBytes(header.Key, span[n..]);
                n += Copy(": "u8, span[n..]);
                n += Encoding.ASCII.GetBytes(value, span[n..]);
                n += Copy("\r\n"u8, span[n..]);
            }
        return n + Copy("\r\n"u8, span[n..]);
    }

    private static int Copy(ReadOnlySpan<byte> bytes, Span<byte> to)
    {
        bytes.CopyTo(to);
        return bytes.Length;
    }

    // head: the status line and header lines, each ending in CRLF.
    private static HttpResponseMessage ParseHead(ReadOnlySpan<byte> head, HttpRequestMessage request, out string? contentType, out int bodyLength)
    {
        var status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
        var response = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = request, Version = HttpVersion.Version11 };
        contentType = null;
        bodyLength = 0;
        head = head[(head.IndexOf("\r\n"u8) + 2)..];
        while (!head.IsEmpty)
        {
            var eol = head.IndexOf("\r\n"u8);
            var line = head[..eol];
            head = head[(eol + 2)..];
            var colon = line.IndexOf((byte)':');
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (name.SequenceEqual("Content-Length"u8)) bodyLength = int.Parse(value);
            else if (name.SequenceEqual("Content-Type"u8)) contentType = Encoding.ASCII.GetString(value);
            else response.Headers.TryAddWithoutValidation(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value));
        }
        return response;
    }
}
