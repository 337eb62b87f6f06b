using NUnit.Framework;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Tests.Lifecycle;

/// <summary>The successor's watch after a commit: a successor that dies before this process exits is reverted, one
/// that ends on purpose is not, and a successor releases its own predecessor whenever it ends on purpose.</summary>
public sealed partial class ServeLoopTests
{
    private async Task<TaskCompletionSource<SuccessorEnd>> CommitAsync()
    {
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await started.WaitAsync(Bound);
        var successor = new TaskCompletionSource<SuccessorEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        _actions.EndHandoff(committed: true, successor.Task);
        await _actions.HandingOver.Task.WaitAsync(Bound);
        return successor;
    }

    [Test]
    public async Task A_successor_that_dies_during_close_timeout_is_reverted_without_a_drain_and_a_later_sigquit_tries_again()
    {
        var run = Run();
        var successor = await CommitAsync();

        successor.SetResult(new SuccessorEnd.Died());
        Assert.That(await _actions.Reverted.Task.WaitAsync(Bound), Does.Contain("died"));
        Assert.That(_lifecycle.Current, Is.EqualTo(Phase.Serving));
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.That(_actions.Drained.Task.IsCompleted, Is.False, "a reverted upgrade does not drain when close_timeout would have ended");

        var again = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await again.WaitAsync(Bound);
        Assert.That(_actions.Handoffs, Is.EqualTo(2), "after upgrade-reverted a later SIGQUIT can try again");
        Assert.That(run.IsCompleted, Is.False);
        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero);
    }

    [Test]
    public async Task A_successor_that_dies_during_the_drain_ends_the_drain_and_is_reverted_then_sigterm_drains_and_exits()
    {
        _actions.DrainUntilAborted = true;
        var run = Run();
        var successor = await CommitAsync();
        _time.Advance(TimeSpan.FromSeconds(5));
        var (reason, _) = await _actions.Drained.Task.WaitAsync(Bound);
        Assert.That(reason, Is.EqualTo("handed over"));
        Assert.That(_actions.DrainRevertible, Is.True, "a handed-over drain keeps the listener fds for a revert");

        successor.SetResult(new SuccessorEnd.Died());
        await _actions.Reverted.Task.WaitAsync(Bound);
        Assert.That(_lifecycle.Current, Is.EqualTo(Phase.Serving));
        Assert.That(run.IsCompleted, Is.False, "the reverted process serves on");

        _actions.DrainUntilAborted = false;
        _signals.Send(Signal.Terminate);
        Assert.That(await run, Is.Zero);
        Assert.That(_actions.DrainRevertible, Is.False, "a SIGTERM drain closes the fds: nobody takes them back");
    }

    [Test]
    public async Task A_successor_that_releases_its_predecessor_is_not_reverted_and_the_drain_ends_in_exit()
    {
        _actions.DrainUntilAborted = true;
        var run = Run();
        var successor = await CommitAsync();
        successor.SetResult(new SuccessorEnd.Released());
        await _log.WaitForAsync("the successor's watch ended");
        _time.Advance(TimeSpan.FromSeconds(5));
        await _actions.Drained.Task.WaitAsync(Bound);
        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero);
        Assert.That(_actions.Reverted.Task.IsCompleted, Is.False);
    }

    [Test]
    public async Task A_successor_that_dies_after_sigterm_is_not_reverted()
    {
        _actions.DrainUntilAborted = true;
        var run = Run();
        var successor = await CommitAsync();
        _signals.Send(Signal.Terminate);
        await _actions.Drained.Task.WaitAsync(Bound);
        successor.SetResult(new SuccessorEnd.Died());
        await _log.WaitForAsync("no revert");
        Assert.That(_actions.Reverted.Task.IsCompleted, Is.False, "SIGTERM asked this process to stop");
        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero);
    }

    [TestCase(Signal.Terminate)]
    [TestCase(Signal.Interrupt)]
    public async Task A_successor_ending_on_purpose_releases_its_predecessor(Signal signal)
    {
        var run = Run();
        Assert.That(_actions.Releases, Is.Zero);
        _signals.Send(signal);
        Assert.That(await run, Is.Zero);
        Assert.That(_actions.Releases, Is.EqualTo(1));
    }

    [Test]
    public async Task A_committed_handoff_of_its_own_releases_the_predecessor_and_a_failed_one_does_not()
    {
        var run = Run();
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await started.WaitAsync(Bound);
        _actions.EndHandoff(committed: false);
        await _log.WaitForAsync("phase=handoff-failed");
        Assert.That(_actions.Releases, Is.Zero, "after a failed handoff this process is still the one");

        await CommitAsync();
        Assert.That(_actions.Releases, Is.EqualTo(1), "its successor is the one now; the predecessor must not take anything back");
        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero);
    }
}
