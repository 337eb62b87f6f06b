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
    public void EndHandoff(bool committed, Task<SuccessorEnd>? successor = null)
    {
        if (committed) lifecycle.Enter(Phase.HandoffAcknowledged, "fake");
        else lifecycle.Failed(Phase.HandoffFailed, "fake");
        var ending = _handoff;
        _handoff = NewSource<HandoffOutcome>();
        HandoffStarted = NewSource<CancellationToken>();
        ending.SetResult(new HandoffOutcome(committed, successor));
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

    public Task DrainAsync(string reason, TimeSpan deadline, CancellationToken abort, CancellationToken revert = default)
    {
        lifecycle.Enter(Phase.Drain, "fake");
        DrainRevertible = revert.CanBeCanceled;
        Drained.TrySetResult((reason, deadline));
        if (!DrainUntilAborted) return Task.CompletedTask;
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        abort.Register(() => aborted.TrySetResult());
        revert.Register(() => aborted.TrySetResult());
        return aborted.Task;
    }

    /// <summary>Whether the last drain was given a cancellable revert token (a handed-over drain).</summary>
    public bool DrainRevertible { get; private set; }

    public TaskCompletionSource<string> Reverted { get; } = NewSource<string>();

    public Task RevertAsync(string reason)
    {
        lifecycle.Enter(Phase.UpgradeReverted, "fake");
        Reverted.TrySetResult(reason);
        return Task.CompletedTask;
    }

    private int _releases;

    /// <summary>How often the loop told this process's predecessor that it ends on purpose.</summary>
    public int Releases => Volatile.Read(ref _releases);

    public Task ReleasePredecessorAsync()
    {
        Interlocked.Increment(ref _releases);
        return Task.CompletedTask;
    }

    private int _reopens;
    public int Reopens => Volatile.Read(ref _reopens);
    public TaskCompletionSource<int> Reopened { get; } = NewSource<int>();

    public void ReopenLogs() => Reopened.TrySetResult(Interlocked.Increment(ref _reopens));

    public void Exit(int code) => Exited.TrySetResult(code);
}
