namespace Pingora.Proxy.Tests.Harness;

/// <summary>What one kind of soak traffic did.</summary>
/// <param name="Responses">Responses whose head arrived: each is one access log line (a WebSocket's 101, an SSE
/// stream's 200 included).</param>
/// <param name="Completed">Requests, messages or streams that ended as they should, body checked.</param>
/// <param name="Sessions">WebSocket sessions opened, SSE streams started.</param>
/// <param name="Reconnects">Sessions the proxy ended as a drain should (WebSocket close 1001, an SSE stream ended at
/// an event boundary) after which the client reconnected: not errors.</param>
/// <param name="Retried">Requests HttpClient sent again on a new connection because the server had not processed
/// them (an HTTP/2 stream above GOAWAY's last stream id, an HTTP/1.1 keep-alive connection closed while idle).</param>
/// <param name="Unanswered">WebSocket messages in flight when a close 1001 arrived: the protocol promises nothing
/// about them, a client sends them again after it reconnects.</param>
public sealed record SoakKindCounts(long Responses, long Completed, long Sessions, long Reconnects, long Retried,
    long Unanswered, IReadOnlyDictionary<FailureKind, long> Failures)
{
    public long FailureCount => Failures.Values.Sum();
}

/// <summary>The soak traffic's counters at one moment.</summary>
public sealed record SoakSnapshot(IReadOnlyDictionary<SoakKind, SoakKindCounts> Kinds, IReadOnlyList<string> SampledFailures,
    TimeSpan Elapsed)
{
    public long FailureCount => Kinds.Values.Sum(k => k.FailureCount);
    public long Responses => Kinds.Values.Sum(k => k.Responses);
    public SoakKindCounts this[SoakKind kind] => Kinds[kind];

    public string Summary()
    {
        var lines = Kinds.Select(k =>
            $"  {SoakKinds.Label(k.Key),-26} responses {k.Value.Responses,7}  completed {k.Value.Completed,7}  sessions {k.Value.Sessions,5}  " +
            $"reconnects {k.Value.Reconnects,5}  retried {k.Value.Retried,5}  unanswered {k.Value.Unanswered,3}  errors {k.Value.FailureCount}" +
            (k.Value.FailureCount == 0 ? "" : " [" + string.Join(" ", k.Value.Failures.Where(f => f.Value > 0)
                .Select(f => $"{FailureClassifier.Label(f.Key)}={f.Value}")) + "]"));
        var text = $"soak traffic over {Elapsed.TotalSeconds:F1}s: {Responses} responses, {FailureCount} errors\n" + string.Join("\n", lines);
        return SampledFailures.Count == 0 ? text : text + "\nfirst failures:\n  " + string.Join("\n  ", SampledFailures);
    }

    public override string ToString() => Summary();
}

/// <summary>Thread-safe counters behind <see cref="SoakSnapshot"/>.</summary>
internal sealed class SoakCounters
{
    private const int MaxSampledFailures = 20;

    private sealed class Counts
    {
        public long Responses, Completed, Sessions, Reconnects, Retried, Unanswered;
        public readonly Dictionary<FailureKind, long> Failures = Enum.GetValues<FailureKind>().ToDictionary(k => k, _ => 0L);
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<SoakKind, Counts> _kinds = Enum.GetValues<SoakKind>().ToDictionary(k => k, _ => new Counts());
    private readonly List<string> _samples = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public void Response(SoakKind kind) { lock (_lock) _kinds[kind].Responses++; }
    public void Completed(SoakKind kind) { lock (_lock) _kinds[kind].Completed++; }
    public void Session(SoakKind kind) { lock (_lock) _kinds[kind].Sessions++; }
    public void Reconnect(SoakKind kind) { lock (_lock) _kinds[kind].Reconnects++; }
    public void Unanswered(SoakKind kind) { lock (_lock) _kinds[kind].Unanswered++; }

    public void Retried(SoakKind kind, long count)
    {
        if (count <= 0) return;
        lock (_lock) _kinds[kind].Retried += count;
    }

    public void Failure(SoakKind kind, FailureKind failure, string detail)
    {
        lock (_lock)
        {
            _kinds[kind].Failures[failure]++;
            if (_samples.Count < MaxSampledFailures)
                _samples.Add($"[{FailureClassifier.Label(failure)}] {SoakKinds.Label(kind)} at +{_clock.Elapsed.TotalSeconds:F3}s: {detail}");
        }
    }

    public SoakSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new SoakSnapshot(
                _kinds.ToDictionary(k => k.Key, k => new SoakKindCounts(k.Value.Responses, k.Value.Completed, k.Value.Sessions,
                    k.Value.Reconnects, k.Value.Retried, k.Value.Unanswered, new Dictionary<FailureKind, long>(k.Value.Failures))),
                _samples.ToArray(), _clock.Elapsed);
        }
    }
}
