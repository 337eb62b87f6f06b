namespace Pingora.Proxy.Drain;

/// <summary>
/// Counts the connections this process has accepted, and among them those that have not yet begun their first
/// request. The second count is what makes a handoff lose nothing: Kestrel's shutdown closes a connection whose first
/// request has not been read yet as if it were idle, and that client, who only just connected, would see its request
/// fail. Draining therefore waits for those connections to begin their request (bounded) before shutting down.
/// </summary>
public sealed class ConnectionTracker
{
    private readonly object _gate = new();
    private int _active;
    private int _awaitingFirstRequest;
    private TaskCompletionSource? _noneAwaiting;

    public int Active => Volatile.Read(ref _active);
    public int AwaitingFirstRequest => Volatile.Read(ref _awaitingFirstRequest);

    public TrackedConnection Open()
    {
        lock (_gate)
        {
            _active++;
            _awaitingFirstRequest++;
        }
        return new TrackedConnection(this);
    }

    internal void RequestStarted()
    {
        lock (_gate)
        {
            if (--_awaitingFirstRequest == 0) _noneAwaiting?.TrySetResult();
        }
    }

    internal void Closed(bool requestStarted)
    {
        lock (_gate)
        {
            _active--;
            if (!requestStarted && --_awaitingFirstRequest == 0) _noneAwaiting?.TrySetResult();
        }
    }

    /// <summary>Completes when every open connection has begun a request or closed. Call after accepting stopped.</summary>
    public Task WhenNoneAwaitingFirstRequest()
    {
        lock (_gate)
        {
            if (_awaitingFirstRequest == 0) return Task.CompletedTask;
            _noneAwaiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _noneAwaiting.Task;
        }
    }
}

/// <summary>One accepted connection's entry in the tracker.</summary>
public sealed class TrackedConnection(ConnectionTracker tracker)
{
    /// <summary>The key under which the connection middleware stores this in the connection's items.</summary>
    public static readonly object ItemKey = new();

    private int _requestStarted;
    private int _closed;

    public bool RequestStarted => Volatile.Read(ref _requestStarted) != 0;

    public void MarkRequestStarted()
    {
        if (Volatile.Read(ref _requestStarted) != 0 || Volatile.Read(ref _closed) != 0) return;
        if (Interlocked.Exchange(ref _requestStarted, 1) == 0) tracker.RequestStarted();
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        // A request starting on another thread at this instant is settled by whichever exchange wins.
        tracker.Closed(Interlocked.Exchange(ref _requestStarted, 1) != 0);
    }
}
