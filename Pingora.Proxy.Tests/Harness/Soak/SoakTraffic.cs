using System.Net;
using System.Net.Http;
using System.Security.Cryptography;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// The soak's mixed traffic besides <see cref="LoadClient"/>: HTTP/2 over h2c and TLS (HttpClient, which re-sends
/// streams a GOAWAY left unprocessed, counted by <see cref="HttpAttempts"/>), WebSocket sessions exchanging a
/// message every 100 ms (reconnecting after a close 1001), 8 MB downloads read slowly, 8 MB uploads checked by the
/// backend's SHA-256, 2 s slow responses and server-sent event streams (resumed with Last-Event-ID). Every body is
/// checked byte for byte; every failure is classified by kind. <see cref="StopAsync"/> lets requests in flight end and
/// closes sessions itself, so stopping never makes an error.
/// </summary>
public sealed class SoakTraffic : IAsyncDisposable
{
    internal readonly SoakCounters Counters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<HttpClient> _clients = [];
    private readonly Task _workers;

    internal SoakTrafficOptions Options { get; }
    internal CancellationToken Stopping => _stop.Token;
    internal byte[] UploadBody { get; }
    internal string UploadSha256 { get; }

    private SoakTraffic(SoakTrafficOptions options)
    {
        Options = options;
        UploadBody = new byte[options.TransferBytes];
        BytePattern.Fill(UploadBody, 0);
        UploadSha256 = Convert.ToHexStringLower(SHA256.HashData(UploadBody));
        _stop.CancelAfter(options.MaxDuration);

        var http1 = new Uri($"http://{options.Http1}");
        var workers = new List<Task>();
        void Add(int count, Func<int, Task> worker)
        {
            for (var i = 0; i < count; i++)
            {
                var n = i;
                workers.Add(Task.Run(() => worker(n)));
            }
        }
        if (options.H2c is { } h2c)
        {
            var client = NewClient(http2: true);
            Add(options.H2Streams, _ => SoakHttpWorkers.Http2Async(this, SoakKind.H2c, client, h2c));
        }
        if (options.H2Tls is { } h2)
        {
            var client = NewClient(http2: true);
            Add(options.H2Streams, _ => SoakHttpWorkers.Http2Async(this, SoakKind.H2Tls, client, h2));
        }
        Add(options.Downloads, _ => SoakHttpWorkers.DownloadAsync(this, NewClient(http2: false), http1));
        Add(options.Uploads, _ => SoakHttpWorkers.UploadAsync(this, NewClient(http2: false), http1));
        Add(options.SlowRequests, _ => SoakHttpWorkers.SlowAsync(this, NewClient(http2: false), http1));
        Add(options.EventStreams, _ => SoakEventStream.RunAsync(this, NewClient(http2: false), http1));
        Add(options.WebSockets, n => SoakWebSocketSession.RunAsync(this, n));
        _workers = Task.WhenAll(workers);
    }

    public static SoakTraffic Start(SoakTrafficOptions options) => new(options);

    public bool IsRunning => !_workers.IsCompleted;

    public SoakSnapshot Snapshot() => Counters.Snapshot();

    /// <summary>Awaits a condition on the counters, polled every 50 ms (the sessions report no event per message).</summary>
    public async Task<SoakSnapshot> WaitUntilAsync(Func<SoakSnapshot, bool> condition, string what, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var snapshot = Snapshot();
            if (condition(snapshot)) return snapshot;
            if (!IsRunning) throw new TimeoutException($"the soak traffic stopped before {what}: {snapshot.Summary()}");
            if (deadline.IsCancellationRequested)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F1}s waiting for {what}: {snapshot.Summary()}");
            try { await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Stops starting requests, closes the sessions, lets what is in flight end (bounded by the request
    /// timeout) and returns the final counters.</summary>
    public async Task<SoakSnapshot> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAny(_workers, Task.Delay(Options.RequestTimeout + TimeSpan.FromSeconds(5)));
        return Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var client in _clients) client.Dispose();
        _stop.Dispose();
    }

    private HttpClient NewClient(bool http2)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = Options.RequestTimeout,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = Options.PinnedCertificate is { } pinned
            ? pinned.ValidationCallback
            : (_, _, _, _) => true;
        var client = new HttpClient(handler)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        lock (_clients) _clients.Add(client);
        return client;
    }

    /// <summary>Sends on the caller's flow with an attempt counter; retries beyond the first are counted for the kind.</summary>
    internal async Task<HttpResponseMessage> SendAsync(SoakKind kind, HttpClient client, HttpRequestMessage request,
        HttpCompletionOption completion, CancellationToken cancel)
    {
        // DefaultRequestVersion applies to HttpClient's own helpers only, not to a message built by the caller.
        request.Version = client.DefaultRequestVersion;
        request.VersionPolicy = client.DefaultVersionPolicy;
        var attempts = HttpAttempts.Begin();
        try
        {
            return await client.SendAsync(request, completion, cancel);
        }
        finally
        {
            Counters.Retried(kind, attempts.Value - 1);
        }
    }

    /// <summary>Records a failed request; the request's own deadline tells a timeout from a stop.</summary>
    internal void Fail(SoakKind kind, Exception e, bool timedOut)
    {
        var chain = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) chain.Add($"{x.GetType().Name}: {x.Message}");
        Counters.Failure(kind, FailureClassifier.Classify(e, timedOut), string.Join(" <- ", chain));
    }
}
