using System.Diagnostics;

namespace Pingora.Proxy.Drain;

/// <summary>
/// Counts the connections this process has accepted, and among them the unsettled ones: those that could still carry
/// a request which a graceful stop would fail. Kestrel's stop closes every connection that is between requests, and a
/// client may be sending its next request on it at that very moment (or, on a connection accepted a moment ago, its
/// first); that client sees its request fail. So while draining, each HTTP/1.x response asks its client to close
/// (Connection: close), and the drain waits (bounded) until every connection has closed or is known to be HTTP/2,
/// whose GOAWAY tells clients which requests were not taken, so they can safely be sent again.
/// </summary>
public sealed class ConnectionTracker
{
    private readonly object _gate = new();
    private int _active;
    private int _unsettled;
    private TaskCompletionSource? _settled;
    private volatile bool _draining;
    private CancellationTokenSource _drainingStarted = new();
    private long _lastNoticeTimestamp;

    public int Active => Volatile.Read(ref _active);
    public int Unsettled => Volatile.Read(ref _unsettled);

    /// <summary>Set once this process is on its way out: from then on HTTP/1.x responses carry Connection: close.</summary>
    public bool Draining => _draining;

    public void StartDraining()
    {
        _draining = true;
        Interlocked.Exchange(ref _lastNoticeTimestamp, 0);
        Counts.StartCounting();
        _drainingStarted.Cancel();
    }

    /// <summary>An HTTP/2 connection got the drain's first GOAWAY (see Http2Drain/); the final GOAWAYs may follow
    /// a round trip after the last of these.</summary>
    public void ShutdownNoticeSent() => Interlocked.Exchange(ref _lastNoticeTimestamp, Stopwatch.GetTimestamp());

    /// <summary>How long ago this drain's latest HTTP/2 shutdown notice went out; null if none did.</summary>
    public TimeSpan? SinceLastShutdownNotice =>
        Volatile.Read(ref _lastNoticeTimestamp) is var at and not 0 ? Stopwatch.GetElapsedTime(at) : null;

    /// <summary>Connections by kind, and how those that ended since the drain began ended.</summary>
    public DrainCounts Counts { get; } = new();

    /// <summary>Cancelled by <see cref="StartDraining"/>, for what a connection does differently while draining; a
    /// connection opened after a reverted upgrade gets a fresh one, for the next drain.</summary>
    public CancellationToken WhenDraining => Volatile.Read(ref _drainingStarted).Token;

    /// <summary>The requests in flight on these connections, which the drain ends cleanly at its deadline.</summary>
    public InFlightRequests Requests { get; } = new();

    /// <summary>An upgrade reverted: this process keeps its clients again.</summary>
    public void StopDraining()
    {
        _draining = false;
        Volatile.Write(ref _drainingStarted, new CancellationTokenSource());
    }

    public TrackedConnection Open()
    {
        // Atomic like the decrement in Closed, which runs outside the lock: a plain ++ here could lose it.
        Interlocked.Increment(ref _active);
        lock (_gate) _unsettled++;
        Counts.Opened();
        return new TrackedConnection(this);
    }

    internal void Settled()
    {
        lock (_gate)
        {
            if (--_unsettled == 0) _settled?.TrySetResult();
        }
    }

    /// <summary>Raised after each close; the accept gate resumes on it when the process ran out of descriptors.</summary>
    public event Action? ConnectionClosed;

    internal void Closed()
    {
        Interlocked.Decrement(ref _active);
        ConnectionClosed?.Invoke();
    }

    /// <summary>Completes when every open connection is HTTP/2 or gone. Call after accepting stopped.</summary>
    public Task WhenSettled()
    {
        lock (_gate)
        {
            if (_unsettled == 0) return Task.CompletedTask;
            _settled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _settled.Task;
        }
    }
}

/// <summary>One accepted connection's entry in the tracker.</summary>
public sealed class TrackedConnection(ConnectionTracker tracker)
{
    private int _settled;
    private int _closed;
    private volatile bool _requestSeen;
    private volatile bool _closedByDrain;
    private readonly object _kindGate = new();
    private RequestKind _kind = RequestKind.Http1;

    /// <summary>Called for every request; cheap after the first.</summary>
    public void RequestStarted(bool multiplexed)
    {
        if (_requestSeen) return;
        _requestSeen = true;
        if (!multiplexed) return;
        Became(RequestKind.Http2);
        Settle();
    }

    /// <summary>An HTTP/1.1 upgrade (or, on HTTP/2, the first WebSocket): the connection counts as that kind from now.</summary>
    internal void Became(RequestKind kind)
    {
        lock (_kindGate)
        {
            if (_kind == kind || Volatile.Read(ref _closed) != 0) return;
            tracker.Counts.Became(_kind, kind);
            _kind = kind;
        }
    }

    /// <summary>The drain ended a request on it at the deadline: its end is the drain's doing.</summary>
    internal void ClosedByDrain() => _closedByDrain = true;

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Settle();
        lock (_kindGate) tracker.Counts.Closed(_kind, _closedByDrain);
        tracker.Closed();
    }

    // Exactly once per connection, whichever of "known HTTP/2" and "closed" comes first, even when they race.
    private void Settle()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0) tracker.Settled();
    }
}
