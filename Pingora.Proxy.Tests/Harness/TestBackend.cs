using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Threading.Channels;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A real HTTP backend (Kestrel on 127.0.0.1, ephemeral port) that the daemon proxies to. Every response carries
/// <c>x-backend: NAME</c> so a test can tell which destination answered.
/// <list type="bullet">
/// <item><c>/echo/{**path}</c>: JSON <see cref="EchoResponse"/> of method, path, query, Host and request headers.</item>
/// <item><c>/slow?ms=N&amp;bytes=M</c>: headers at once, then M pattern bytes spread over N ms.</item>
/// <item><c>/delay?ms=N</c>: waits N ms before the headers, then a short body (an upstream slow to answer).</item>
/// <item><c>/bytes?n=N</c>: N pattern bytes as fast as the reader takes them.</item>
/// <item><c>/sse</c>: server-sent events, one every 100 ms, until the client or the proxy ends it; a reconnect with
/// <c>Last-Event-ID: N</c> resumes at N + 1, as an EventSource expects.</item>
/// <item><c>/ws</c>: a WebSocket that echoes every message and answers a close frame with the same status; the
/// status it was closed with is reported by <see cref="NextWebSocketCloseAsync"/>.</item>
/// <item><c>/upload</c>: reads the whole request body and answers with its length in bytes, and its SHA-256 (hex) in
/// <c>x-body-sha256</c>.</item>
/// </list>
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    public const string BackendHeader = "x-backend";

    /// <summary>Interval between /slow chunks: short enough that a client sees the body trickle, not one burst.</summary>
    private static readonly TimeSpan SlowChunkInterval = TimeSpan.FromMilliseconds(50);

    private readonly WebApplication _app;
    private long _requests;
    private int _inFlight;
    private TaskCompletionSource _inFlightChanged = NewSignal();
    private readonly Channel<WebSocketEnd> _webSocketEnds = Channel.CreateUnbounded<WebSocketEnd>();

    public string Name { get; }
    public int Port { get; private set; }
    public bool Tls { get; }

    /// <summary>The destination address for the daemon's cluster config.</summary>
    public string Address => $"{(Tls ? "https" : "http")}://127.0.0.1:{Port}/";
    public Uri BaseUri => new(Address);

    public long RequestCount => Interlocked.Read(ref _requests);
    public int InFlight => Volatile.Read(ref _inFlight);

    private TestBackend(string name, WebApplication app, bool tls)
    {
        Name = name;
        _app = app;
        Tls = tls;
    }

    /// <param name="name">Reported in x-backend and in the echo body.</param>
    /// <param name="certificate">When given, the backend serves HTTPS (HTTP/1.1 and HTTP/2) with it.</param>
    /// <param name="listenAddress">Where to listen; 127.0.0.1 unless given (a DNS test puts a second backend on ::1).</param>
    /// <param name="port">0 for an ephemeral port; a DNS test gives the first backend's port to the second.</param>
    public static async Task<TestBackend> StartAsync(string name, X509Certificate2? certificate = null,
        IPAddress? listenAddress = null, int port = 0)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = $"test-backend-{name}",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore();
        if (certificate is not null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The linger test reads a multi-megabyte body slowly on purpose; the backend must not abort it.
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Listen(listenAddress ?? IPAddress.Loopback, port, listen =>
            {
                if (certificate is null) return;
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });
        // A test that fails mid-request must not wait 30 s for the backend to stop.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();

        var app = builder.Build();
        var backend = new TestBackend(name, app, certificate is not null);
        app.UseWebSockets();
        app.Run(backend.HandleAsync);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Single();
        backend.Port = new Uri(address).Port;
        return backend;
    }

    /// <summary>Awaits at least <paramref name="atLeast"/> requests being handled at once: proof that requests
    /// reached the backend and are still open, without guessing how long that takes.</summary>
    public async Task WaitForInFlightAsync(int atLeast, TimeSpan timeout)
    {
        var deadline = Task.Delay(timeout);
        while (true)
        {
            var changed = Volatile.Read(ref _inFlightChanged).Task;
            if (InFlight >= atLeast) return;
            if (deadline.IsCompleted)
            {
                throw new HarnessTimeoutException(
                    $"timed out after {timeout.TotalSeconds:F1}s waiting for {atLeast} requests in flight at {this} " +
                    $"(in flight: {InFlight}, handled so far: {RequestCount})");
            }
            await Task.WhenAny(changed, deadline);
        }
    }

    private void InFlightChanged(int delta)
    {
        Interlocked.Add(ref _inFlight, delta);
        Interlocked.Exchange(ref _inFlightChanged, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        InFlightChanged(+1);
        try
        {
            context.Response.Headers[BackendHeader] = Name;
            var path = context.Request.Path.Value ?? "/";
            if (path == "/echo" || path.StartsWith("/echo/", StringComparison.Ordinal))
                await EchoAsync(context);
            else if (path == "/slow")
                await SlowAsync(context);
            else if (path == "/delay")
            {
                await Task.Delay(TimeSpan.FromMilliseconds(QueryLong(context, "ms", 1000)), context.RequestAborted);
                await context.Response.WriteAsync("delayed", context.RequestAborted);
            }
            else if (path == "/bytes")
                await BytesAsync(context);
            else if (path == "/sse")
                await ServerSentEventsAsync(context);
            else if (path == "/ws" && context.WebSockets.IsWebSocketRequest)
                await WebSocketEchoAsync(context);
            else if (path == "/upload")
                await UploadAsync(context);
            else
                context.Response.StatusCode = StatusCodes.Status404NotFound;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client (or the proxy) went away mid-body; some tests do that on purpose.
        }
        finally
        {
            InFlightChanged(-1);
        }
    }

    private async Task EchoAsync(HttpContext context)
    {
        var request = context.Request;
        var echo = new EchoResponse(
            Name,
            request.Method,
            request.Path.Value ?? "",
            request.QueryString.Value ?? "",
            request.Host.Value ?? "",
            request.Protocol,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(echo.ToJson(), context.RequestAborted);
    }

    private static async Task SlowAsync(HttpContext context)
    {
        var totalMs = QueryLong(context, "ms", 1000);
        var totalBytes = QueryLong(context, "bytes", 1024);
        var chunks = Math.Max(1, totalMs / (long)SlowChunkInterval.TotalMilliseconds);
        if (totalBytes > 0) chunks = Math.Min(chunks, totalBytes);

        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = totalBytes;
        // Headers leave now, so a client knows the request is in flight before the body is done.
        await context.Response.StartAsync(context.RequestAborted);

        var clock = Stopwatch.StartNew();
        long sent = 0;
        for (long i = 0; i < chunks; i++)
        {
            // Chunk i is due at (i+1)/chunks of the duration: scheduling against the clock keeps the total close to
            // the requested duration however late individual timers fire.
            var due = TimeSpan.FromMilliseconds(totalMs * (i + 1) / (double)chunks);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, context.RequestAborted);
            var size = (int)(totalBytes * (i + 1) / chunks - sent);
            await WritePatternAsync(context, sent, size);
            sent += size;
        }
    }

    private static async Task ServerSentEventsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.StartAsync(context.RequestAborted);
        var first = long.TryParse(context.Request.Headers["Last-Event-ID"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var last)
            ? last + 1
            : 0;
        for (var id = first; ; id++)
        {
            await context.Response.WriteAsync($"id: {id}\ndata: event {id}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(100, context.RequestAborted);
        }
    }

    private async Task WebSocketEchoAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    _webSocketEnds.Writer.TryWrite(new WebSocketEnd(socket.CloseStatus, null));
                    await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                    return;
                }
                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            _webSocketEnds.Writer.TryWrite(new WebSocketEnd(null, e.GetType().Name + ": " + e.Message));
        }
    }

    /// <summary>How the next WebSocket to end here ended: the close status the proxy sent, or the error without one.</summary>
    public async Task<WebSocketEnd> NextWebSocketCloseAsync(TimeSpan timeout)
    {
        try
        {
            return await _webSocketEnds.Reader.ReadAsync().AsTask().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new HarnessTimeoutException($"timed out after {timeout.TotalSeconds:F1}s waiting for a WebSocket to end at {this}");
        }
    }

    public const string BodySha256Header = "x-body-sha256";

    private static async Task UploadAsync(HttpContext context)
    {
        var buffer = new byte[64 * 1024];
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        long total = 0;
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            total += read;
            sha.AppendData(buffer, 0, read);
        }
        context.Response.ContentType = "text/plain";
        context.Response.Headers[BodySha256Header] = Convert.ToHexStringLower(sha.GetHashAndReset());
        await context.Response.WriteAsync(total.ToString(CultureInfo.InvariantCulture), context.RequestAborted);
    }

    private static async Task BytesAsync(HttpContext context)
    {
        var total = QueryLong(context, "n", 1024);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = total;
        const int block = 64 * 1024;
        for (long sent = 0; sent < total; sent += block)
        {
            await WritePatternAsync(context, sent, (int)Math.Min(block, total - sent));
        }
    }

    private static async Task WritePatternAsync(HttpContext context, long offset, int count)
    {
        if (count <= 0) return;
        var buffer = new byte[count];
        BytePattern.Fill(buffer, offset);
        await context.Response.Body.WriteAsync(buffer, context.RequestAborted);
    }

    private static long QueryLong(HttpContext context, string name, long fallback) =>
        long.TryParse(context.Request.Query[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : fallback;

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    public override string ToString() => $"backend {Name} at {Address}";
}

/// <summary>How a WebSocket ended at the backend: with a close frame (its status), or with an error and none.</summary>
public sealed record WebSocketEnd(WebSocketCloseStatus? CloseStatus, string? Error);
