using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Tests.Lifecycle;

/// <summary>
/// The serve loop's actions, recorded: each call completes a task the test can await, and the test decides how a
/// handoff ends (entering the phases the real handoff enters) and what a reload does.
/// </summary>
public sealed class FakeServeActions(LifecycleState lifecycle) : IServeActions
{
    private static TaskCompletionSource<T> NewSource<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TaskCompletionSource<HandoffOutcome> _handoff = NewSource<HandoffOutcome>();
    private int _handoffs;
    private int _reloads;

    public TaskCompletionSource<CancellationToken> HandoffStarted { get; private set; } = NewSource<CancellationToken>();
    public TaskCompletionSource<bool> HandingOver { get; } = NewSource<bool>();
    public TaskCompletionSource<(string Reason, TimeSpan Deadline)> Drained { get; } = NewSource<(string, TimeSpan)>();
    public TaskCompletionSource<int> Exited { get; } = NewSource<int>();
    public TaskCompletionSource<int> ReloadStarted { get; private set; } = NewSource<int>();

    /// <summary>What <see cref="Reload"/> does after it is recorded: nothing, throw, block...</summary>
    public Action ReloadBody { get; set; } = () => { };

    public int Handoffs => Volatile.Read(ref _handoffs);
    public int Reloads => Volatile.Read(ref _reloads);

    public Task<HandoffOutcome> HandOffAsync(CancellationToken cancel)
    {
        Interlocked.Increment(ref _handoffs);
        HandoffStarted.TrySetResult(cancel);
        return _handoff.Task;
    }

    /// <summary>Ends the running handoff as the real one does: its last phase, then the outcome.</summary>
    public void EndHandoff(bool committed)
    {
        if (committed) lifecycle.Enter(Phase.HandoffAcknowledged, "fake");
        else lifecycle.Failed(Phase.HandoffFailed, "fake");
        var ending = _handoff;
        _handoff = NewSource<HandoffOutcome>();
        HandoffStarted = NewSource<CancellationToken>();
        ending.SetResult(new HandoffOutcome(committed));
    }

    public void StartHandingOver() => HandingOver.TrySetResult(true);

    public void Reload()
    {
        var count = Interlocked.Increment(ref _reloads);
        var started = ReloadStarted;
        ReloadStarted = NewSource<int>();
        started.TrySetResult(count);
        ReloadBody();
    }

    /// <summary>When set, a drain lasts until it is aborted, as one with a connection that never ends.</summary>
    public bool DrainUntilAborted { get; set; }

    public Task DrainAsync(string reason, TimeSpan deadline, CancellationToken abort)
    {
        lifecycle.Enter(Phase.Drain, "fake");
        Drained.TrySetResult((reason, deadline));
        if (!DrainUntilAborted) return Task.CompletedTask;
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        abort.Register(() => aborted.SetResult());
        return aborted.Task;
    }

    private int _reopens;
    public int Reopens => Volatile.Read(ref _reopens);
    public TaskCompletionSource<int> Reopened { get; } = NewSource<int>();

    public void ReopenLogs() => Reopened.TrySetResult(Interlocked.Increment(ref _reopens));

    public void Exit(int code) => Exited.TrySetResult(code);
}
