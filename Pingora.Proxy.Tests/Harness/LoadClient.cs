using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Text.Json;

namespace Pingora.Proxy.Tests.Harness;

public sealed class LoadClientOptions
{
    /// <summary>The daemon listener, e.g. http://127.0.0.1:PORT.</summary>
    public required Uri BaseUri { get; init; }

    /// <summary>Paths requested in turn by every worker.</summary>
    public IReadOnlyList<string> Paths { get; init; } = ["/status"];

    /// <summary>Responses to this path are the daemon's status JSON: the answering pid is counted.</summary>
    public string? StatusPath { get; init; } = "/status";

    public string? HostHeader { get; init; }

    /// <summary>For an https BaseUri: the daemon's certificate, pinned.</summary>
    public TestCertificate? PinnedCertificate { get; init; }

    /// <summary>Workers that each keep one pooled HttpClient connection alive across requests.</summary>
    public int KeepAliveWorkers { get; init; } = 2;

    /// <summary>Workers that open a new TCP connection for every request (raw HTTP/1.1, Connection: close).</summary>
    public int NewConnectionWorkers { get; init; } = 2;

    /// <summary>The load stops by itself after this long even if nobody stops it.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The load stops by itself after this many requests even if nobody stops it.</summary>
    public long MaxRequests { get; init; } = 300_000;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>When set, every 2xx body of a proxied path (not the status path) is checked with it (path, body):
    /// false counts as <see cref="FailureKind.WrongBody"/>.</summary>
    public Func<string, byte[], bool>? BodyIsRight { get; init; }

    /// <summary>Pause between one worker's requests. Without it four workers saturate both cores of the test
    /// machine and starve the daemon processes whose timing the test is about.</summary>
    public TimeSpan PauseBetweenRequests { get; init; } = TimeSpan.FromMilliseconds(2);
}

public enum WorkerKind
{
    KeepAlive,
    NewConnection,
}

/// <summary>
/// Continuous HTTP load against the daemon while a test reloads, upgrades or stops it. Mixes keep-alive HttpClient
/// workers with new-connection-per-request raw workers, classifies every failure (<see cref="FailureKind"/>), counts
/// which pid answered status requests and which backend answered proxied ones. Bounded by time and request count;
/// in-flight requests are never cancelled by <see cref="StopAsync"/>, so stopping cannot manufacture failures.
/// </summary>
public sealed class LoadClient : IAsyncDisposable
{
    private const int MaxSampledFailures = 20;

    private readonly LoadClientOptions _options;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _workers;
    private readonly IPEndPoint _endPoint;

    private long _claimed;
    private long _requests;
    private long _successes;
    private readonly Dictionary<WorkerKind, long> _successesByWorker = new() { [WorkerKind.KeepAlive] = 0, [WorkerKind.NewConnection] = 0 };
    private readonly Dictionary<FailureKind, long> _failures = Enum.GetValues<FailureKind>().ToDictionary(k => k, _ => 0L);
    private readonly Dictionary<int, long> _pids = [];
    private readonly Dictionary<string, long> _backends = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _nonSuccessStatuses = [];
    private readonly List<string> _sampledFailures = [];
    private string? _stoppedBecause;
    private TaskCompletionSource _changed = NewSignal();

    private LoadClient(LoadClientOptions options)
    {
        if (options.Paths.Count == 0) throw new ArgumentException("the load client needs at least one path");
        _options = options;
        _endPoint = new IPEndPoint(IPAddress.Parse(options.BaseUri.Host), options.BaseUri.Port);
        var workers = new List<Task>();
        for (var i = 0; i < options.KeepAliveWorkers; i++)
        {
            var offset = i;
            workers.Add(Task.Run(() => KeepAliveWorkerAsync(offset)));
        }
        for (var i = 0; i < options.NewConnectionWorkers; i++)
        {
            var offset = options.KeepAliveWorkers + i;
            workers.Add(Task.Run(() => NewConnectionWorkerAsync(offset)));
        }
        _workers = FinishAsync(workers);
    }

    public static LoadClient Start(LoadClientOptions options) => new(options);

    public bool IsRunning => !_workers.IsCompleted;

    /// <summary>Completes when every worker has ended, by a limit or by <see cref="StopAsync"/>.</summary>
    public Task Completion => _workers;

    public LoadSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new LoadSnapshot(
                _requests, _successes, new Dictionary<WorkerKind, long>(_successesByWorker),
                new Dictionary<FailureKind, long>(_failures), new Dictionary<int, long>(_pids),
                new Dictionary<string, long>(_backends, StringComparer.Ordinal), new Dictionary<int, long>(_nonSuccessStatuses),
                _sampledFailures.ToArray(), _stoppedBecause, _clock.Elapsed);
        }
    }

    /// <summary>Awaits a condition on the counters, re-evaluated after every completed request. Fails at once if
    /// the load already stopped (it would never become true), otherwise after <paramref name="timeout"/>.</summary>
    public async Task<LoadSnapshot> WaitUntilAsync(Func<LoadSnapshot, bool> condition, string what, TimeSpan timeout)
    {
        var deadline = Task.Delay(timeout);
        while (true)
        {
            Task changed;
            lock (_lock) changed = _changed.Task;
            var snapshot = Snapshot();
            if (condition(snapshot)) return snapshot;
            if (!IsRunning)
                throw new HarnessTimeoutException($"the load stopped before {what}: {snapshot.Summary()}");
            if (deadline.IsCompleted)
                throw new HarnessTimeoutException($"timed out after {timeout.TotalSeconds:F1}s waiting for {what}: {snapshot.Summary()}");
            await Task.WhenAny(changed, deadline, _workers);
        }
    }

    /// <summary>Stops issuing requests, lets in-flight ones finish (bounded by the request timeout) and returns the
    /// final counters.</summary>
    public async Task<LoadSnapshot> StopAsync()
    {
        lock (_lock) _stoppedBecause ??= "stopped by the test";
        await _stop.CancelAsync();
        await Task.WhenAny(_workers, Task.Delay(_options.RequestTimeout + TimeSpan.FromSeconds(5)));
        return Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private bool ClaimRequest()
    {
        if (_stop.IsCancellationRequested) return false;
        if (_clock.Elapsed >= _options.MaxDuration)
        {
            lock (_lock) _stoppedBecause ??= $"hit the time limit of {_options.MaxDuration.TotalSeconds:F0}s";
            return false;
        }
        if (Interlocked.Increment(ref _claimed) > _options.MaxRequests)
        {
            lock (_lock) _stoppedBecause ??= $"hit the request limit of {_options.MaxRequests}";
            return false;
        }
        return true;
    }

    private async Task KeepAliveWorkerAsync(int offset)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = 1,
            ConnectTimeout = _options.RequestTimeout,
        };
        if (_options.PinnedCertificate is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = _options.PinnedCertificate.ValidationCallback;
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };

        for (var i = offset; ClaimRequest(); i++)
        {
            var path = _options.Paths[i % _options.Paths.Count];
            await OneRequestAsync(WorkerKind.KeepAlive, path, async ct =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_options.BaseUri, path));
                if (_options.HostHeader is not null) request.Headers.Host = _options.HostHeader;
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                var backend = response.Headers.TryGetValues(TestBackend.BackendHeader, out var values) ? values.FirstOrDefault() : null;
                return ((int)response.StatusCode, backend, body);
            });
            await PauseAsync();
        }
    }

    private async Task NewConnectionWorkerAsync(int offset)
    {
        for (var i = offset; ClaimRequest(); i++)
        {
            var path = _options.Paths[i % _options.Paths.Count];
            await OneRequestAsync(WorkerKind.NewConnection, path, async ct =>
            {
                var response = await RawHttpClient.GetAsync(_endPoint, path, _options.HostHeader, _options.PinnedCertificate, ct);
                return (response.StatusCode, response.Header(TestBackend.BackendHeader), response.Body);
            });
            await PauseAsync();
        }
    }

    private async Task PauseAsync()
    {
        if (_options.PauseBetweenRequests <= TimeSpan.Zero) return;
        try { await Task.Delay(_options.PauseBetweenRequests, _stop.Token); }
        catch (OperationCanceledException) { }
    }

    private async Task OneRequestAsync(WorkerKind worker, string path,
        Func<CancellationToken, Task<(int Status, string? Backend, byte[] Body)>> send)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout);
        var started = _clock.Elapsed;
        try
        {
            var (status, backend, body) = await send(timeout.Token);
            if (status is < 200 or > 299)
            {
                RecordFailure(FailureKind.NonSuccessStatus, worker, path, started, $"HTTP {status}", status);
                return;
            }
            if (path != _options.StatusPath && _options.BodyIsRight is { } check && !check(path, body))
            {
                RecordFailure(FailureKind.WrongBody, worker, path, started, $"a {body.Length}-byte body that is not the backend's");
                return;
            }
            int? pid = null;
            if (path == _options.StatusPath)
            {
                pid = TryReadPid(body);
                if (pid is null)
                {
                    RecordFailure(FailureKind.Other, worker, path, started,
                        $"status response without a pid: {System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}");
                    return;
                }
            }
            RecordSuccess(worker, pid, backend);
        }
        catch (Exception e)
        {
            var kind = FailureClassifier.Classify(e, timeout.IsCancellationRequested);
            RecordFailure(kind, worker, path, started, Describe(e));
        }
    }

    private static int? TryReadPid(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("pid", out var pid) && pid.TryGetInt32(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(Exception e)
    {
        var chain = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) chain.Add($"{x.GetType().Name}: {x.Message}");
        return string.Join(" <- ", chain);
    }

    private void RecordSuccess(WorkerKind worker, int? pid, string? backend)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _requests++;
            _successes++;
            _successesByWorker[worker]++;
            if (pid is not null) _pids[pid.Value] = _pids.GetValueOrDefault(pid.Value) + 1;
            if (backend is not null) _backends[backend] = _backends.GetValueOrDefault(backend) + 1;
            changed = SwapSignal();
        }
        changed.TrySetResult();
    }

    private void RecordFailure(FailureKind kind, WorkerKind worker, string path, TimeSpan started, string detail, int? status = null)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _requests++;
            _failures[kind]++;
            if (status is not null) _nonSuccessStatuses[status.Value] = _nonSuccessStatuses.GetValueOrDefault(status.Value) + 1;
            if (_sampledFailures.Count < MaxSampledFailures)
            {
                _sampledFailures.Add($"[{FailureClassifier.Label(kind)}] {worker} GET {path} started at +{started.TotalSeconds:F3}s, " +
                                     $"failed at +{_clock.Elapsed.TotalSeconds:F3}s: {detail}");
            }
            changed = SwapSignal();
        }
        changed.TrySetResult();
    }

    private TaskCompletionSource SwapSignal()
    {
        var changed = _changed;
        _changed = NewSignal();
        return changed;
    }

    private async Task FinishAsync(List<Task> workers)
    {
        await Task.WhenAll(workers);
        lock (_lock) _stoppedBecause ??= "all workers ended";
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The load client's counters at one moment.</summary>
public sealed record LoadSnapshot(
    long Requests,
    long Successes,
    IReadOnlyDictionary<WorkerKind, long> SuccessesByWorker,
    IReadOnlyDictionary<FailureKind, long> Failures,
    IReadOnlyDictionary<int, long> Pids,
    IReadOnlyDictionary<string, long> Backends,
    IReadOnlyDictionary<int, long> NonSuccessStatuses,
    IReadOnlyList<string> SampledFailures,
    string? StoppedBecause,
    TimeSpan Elapsed)
{
    public long FailureCount => Failures.Values.Sum();

    /// <summary>True when the load stopped on its own limits instead of being stopped by the test: then the event the
    /// test wanted covered may have happened without load.</summary>
    public bool HitLimit => StoppedBecause is not null && StoppedBecause.StartsWith("hit", StringComparison.Ordinal);

    public long AnsweredBy(int pid) => Pids.GetValueOrDefault(pid);
    public long AnsweredBy(string backend) => Backends.GetValueOrDefault(backend);

    public string Summary()
    {
        var failures = string.Join(" ", Failures.Select(f => $"{FailureClassifier.Label(f.Key)}={f.Value}"));
        var pids = Pids.Count == 0 ? "none" : string.Join(", ", Pids.Select(p => $"{p.Key}:{p.Value}"));
        var backends = Backends.Count == 0 ? "none" : string.Join(", ", Backends.Select(b => $"{b.Key}:{b.Value}"));
        var statuses = NonSuccessStatuses.Count == 0 ? "" : " statuses={" + string.Join(", ", NonSuccessStatuses.Select(s => $"{s.Key}:{s.Value}")) + "}";
        var text = $"load over {Elapsed.TotalSeconds:F1}s: requests={Requests} ok={Successes} " +
                   $"(keep-alive={SuccessesByWorker.GetValueOrDefault(WorkerKind.KeepAlive)} " +
                   $"new-connection={SuccessesByWorker.GetValueOrDefault(WorkerKind.NewConnection)}) " +
                   $"failed={FailureCount} [{failures}]{statuses} pids={{{pids}}} backends={{{backends}}}" +
                   (StoppedBecause is null ? " (running)" : $" ({StoppedBecause})");
        return SampledFailures.Count == 0 ? text : text + "\nfirst failures:\n  " + string.Join("\n  ", SampledFailures);
    }

    public override string ToString() => Summary();
}
