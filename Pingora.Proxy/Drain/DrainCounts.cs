namespace Pingora.Proxy.Drain;

/// <summary>
/// Connections by kind (<see cref="RequestKind"/>; one without a request yet counts as HTTP/1.x): how many are open,
/// and, once the drain has begun, how each one ended: on its own, closed cleanly by the drain at its deadline, or cut
/// by Kestrel's abort after that. What phase=drained reports.
/// </summary>
public sealed class DrainCounts
{
    private static readonly int Kinds = Enum.GetValues<RequestKind>().Length;

    private readonly int[] _open = new int[Kinds];
    private readonly int[] _ended = new int[Kinds];
    private readonly int[] _closed = new int[Kinds];
    private int[]? _cut;
    private volatile bool _counting;

    internal void Opened() => Interlocked.Increment(ref _open[(int)RequestKind.Http1]);

    internal void Became(RequestKind from, RequestKind to)
    {
        Interlocked.Increment(ref _open[(int)to]);
        Interlocked.Decrement(ref _open[(int)from]);
    }

    internal void Closed(RequestKind kind, bool closedByDrain)
    {
        Interlocked.Decrement(ref _open[(int)kind]);
        // A cut connection was counted when it was cut.
        if (!_counting || Volatile.Read(ref _cut) is not null) return;
        Interlocked.Increment(ref (closedByDrain ? _closed : _ended)[(int)kind]);
    }

    /// <summary>From here on, connections that end are counted.</summary>
    internal void StartCounting() => _counting = true;

    /// <summary>Just before Kestrel aborts what is left: what is open now is what the deadline cuts.</summary>
    public void Cutting() => Interlocked.CompareExchange(ref _cut, _open.Select(n => Math.Max(0, n)).ToArray(), null);

    public int Ended(RequestKind kind) => Volatile.Read(ref _ended[(int)kind]);
    public int ClosedAtDeadline(RequestKind kind) => Volatile.Read(ref _closed[(int)kind]);
    public int Cut(RequestKind kind) => Volatile.Read(ref _cut)?[(int)kind] ?? 0;

    /// <summary>"2 HTTP/1.x, 1 HTTP/2, 0 WebSocket, 0 other upgraded".</summary>
    public static string Describe(Func<RequestKind, int> count) =>
        $"{count(RequestKind.Http1)} HTTP/1.x, {count(RequestKind.Http2)} HTTP/2, {count(RequestKind.WebSocket)} WebSocket, " +
        $"{count(RequestKind.Upgraded)} other upgraded";
}
