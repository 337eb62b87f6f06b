using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Tests.Lifecycle;

/// <summary>The serve loop driven by fake signals, actions and time: every signal's effect, in every phase that
/// matters, without a process.</summary>
[TestFixture]
public sealed partial class ServeLoopTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly ServerConf _server = new()
    {
        CloseTimeoutSeconds = 5, GracePeriodSeconds = 300, GracefulShutdownTimeoutSeconds = 7, UpgradeSock = "/run/test.sock",
    };
    private LogCapture _log = null!;
    private LifecycleState _lifecycle = null!;
    private FakeSignals _signals = null!;
    private FakeServeActions _actions = null!;
    private FakeTimeProvider _time = null!;
    private ServeLoop _loop = null!;
    private ManualResetEventSlim _unblock = null!;

    [SetUp]
    public void StartServing()
    {
        _log = new LogCapture();
        _lifecycle = new LifecycleState(_log.CreateLogger());
        _lifecycle.Enter(Phase.Serving, "test");
        _signals = new FakeSignals();
        _actions = new FakeServeActions(_lifecycle);
        _time = new FakeTimeProvider();
        _loop = new ServeLoop(_server, _signals, _actions, _lifecycle, _time);
        _unblock = new ManualResetEventSlim();
    }

    [TearDown]
    public void ReleaseBlockedReloads()
    {
        _unblock.Set();
        _unblock.Dispose();
    }

    private Task<int> Run() => _loop.RunAsync().WaitAsync(Bound);

    [Test]
    public async Task Sighup_runs_a_reload_and_the_loop_keeps_serving()
    {
        var run = Run();
        var reloaded = _actions.ReloadStarted.Task;
        _signals.Send(Signal.Reload);
        Assert.That(await reloaded.WaitAsync(Bound), Is.EqualTo(1));
        await _loop.Reloads.Idle.WaitAsync(Bound);

        Assert.That(run.IsCompleted, Is.False, "a reload does not end serving");
        Assert.That(_lifecycle.Current, Is.EqualTo(Phase.Serving));
        _signals.Send(Signal.Terminate);
        Assert.That(await run, Is.Zero);
    }

    [Test]
    public async Task Sigterm_during_a_handoff_cancels_it_and_drains_only_once_it_ended()
    {
        var run = Run();
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        var cancel = await started.WaitAsync(Bound);
        Assert.That(_lifecycle.Current, Is.EqualTo(Phase.HandoffStarted));

        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cancel.Register(() => cancelled.SetResult());
        _signals.Send(Signal.Terminate);
        await cancelled.Task.WaitAsync(Bound);
        Assert.That(_actions.Drained.Task.IsCompleted, Is.False, "the drain closes the listener fds the handoff is still sending");

        _signals.Send(Signal.Reload, Signal.Terminate);
        await _log.WaitForAsync("Terminate ignored: stopping");
        Assert.That(_log.Lines, Has.Some.Contains("Reload ignored: stopping"));

        _actions.EndHandoff(committed: false);
        var (reason, deadline) = await _actions.Drained.Task.WaitAsync(Bound);
        Assert.That(reason, Is.EqualTo("SIGTERM"));
        Assert.That(deadline, Is.EqualTo(TimeSpan.FromSeconds(7)), "graceful_shutdown_timeout_seconds");
        Assert.That(await run, Is.Zero);
        Assert.That(await _actions.Exited.Task, Is.Zero);
    }

    [Test]
    public async Task A_second_sigquit_during_a_handoff_is_ignored_and_one_after_a_failed_handoff_tries_again()
    {
        var run = Run();
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade, Signal.Upgrade);
        await started.WaitAsync(Bound);
        await _log.WaitForAsync("Upgrade ignored: a handoff is in progress");
        Assert.That(_actions.Handoffs, Is.EqualTo(1));

        _actions.EndHandoff(committed: false);
        await _log.WaitForAsync("phase=handoff-failed");
        started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await started.WaitAsync(Bound);
        Assert.That(_actions.Handoffs, Is.EqualTo(2), "after handoff-failed the process serves, and a later SIGQUIT can try again");

        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero);
    }

    [Test]
    public async Task A_committed_handoff_keeps_accepting_for_close_timeout_then_drains_for_the_grace_period_and_exits_0()
    {
        var run = Run();
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await started.WaitAsync(Bound);
        _actions.EndHandoff(committed: true);
        await _actions.HandingOver.Task.WaitAsync(Bound);
        Assert.That(_lifecycle.Current.StatusName(), Is.EqualTo("handing over"));

        _signals.Send(Signal.Reload, Signal.Upgrade);
        await _log.WaitForAsync("Upgrade ignored: already handed over");
        Assert.That(_log.Lines, Has.Some.Contains("Reload ignored: already handed over"));

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        Assert.That(_actions.Drained.Task.IsCompleted, Is.False, "both processes accept for the whole close_timeout");
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var (reason, deadline) = await _actions.Drained.Task.WaitAsync(Bound);
        Assert.That(reason, Is.EqualTo("handed over"));
        Assert.That(deadline, Is.EqualTo(TimeSpan.FromSeconds(300)), "grace_period_seconds");
        Assert.That(await run, Is.Zero);
        Assert.That(_actions.Reloads, Is.Zero);
        Assert.That(_actions.Handoffs, Is.EqualTo(1));
    }

    [Test]
    public async Task Sigint_exits_at_once_without_draining_even_during_a_handoff()
    {
        var run = Run();
        var started = _actions.HandoffStarted.Task;
        _signals.Send(Signal.Upgrade);
        await started.WaitAsync(Bound);
        _signals.Send(Signal.Interrupt);

        Assert.That(await run, Is.Zero);
        Assert.That(await _actions.Exited.Task, Is.Zero);
        Assert.That(_actions.Drained.Task.IsCompleted, Is.False, "SIGINT does not drain");
    }

    [Test]
    public async Task Sigusr1_reopens_the_logs_while_serving_and_while_draining()
    {
        _actions.DrainUntilAborted = true;
        var run = Run();
        _signals.Send(Signal.Reopen);
        Assert.That(await _actions.Reopened.Task.WaitAsync(Bound), Is.EqualTo(1));
        Assert.That(run.IsCompleted, Is.False, "a reopen does not end serving");

        _signals.Send(Signal.Terminate);
        await _actions.Drained.Task.WaitAsync(Bound);
        _signals.Send(Signal.Reopen);
        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.EqualTo(0));
        Assert.That(_actions.Reopens, Is.EqualTo(2), "logrotate does not wait for a drain to end");
    }

    [Test]
    public async Task Sigint_during_a_drain_cuts_it_short_and_exits()
    {
        _actions.DrainUntilAborted = true;
        var run = Run();
        _signals.Send(Signal.Terminate);
        await _actions.Drained.Task.WaitAsync(Bound);
        Assert.That(run.IsCompleted, Is.False, "the drain waits for its connections");

        _signals.Send(Signal.Interrupt);
        Assert.That(await run, Is.Zero, "SIGINT aborts the drain, and the loop exits once it has returned");
        Assert.That(await _actions.Exited.Task, Is.Zero);
    }

    [Test]
    public async Task A_reload_that_throws_is_logged_and_the_next_sighup_reloads_again()
    {
        _actions.ReloadBody = () => throw new InvalidOperationException("disk on fire");
        var run = Run();
        _signals.Send(Signal.Reload);
        var failed = await _log.WaitForAsync("phase=reload failed");
        Assert.That(failed, Does.Contain("InvalidOperationException: disk on fire").And.Contain("the running configuration stays"));

        _actions.ReloadBody = () => { };
        var again = _actions.ReloadStarted.Task;
        _signals.Send(Signal.Reload);
        Assert.That(await again.WaitAsync(Bound), Is.EqualTo(2));
        Assert.That(_lifecycle.Current, Is.EqualTo(Phase.Serving), "a failed reload changes nothing");
        _signals.Send(Signal.Terminate);
        Assert.That(await run, Is.Zero);
    }

    [Test]
    public async Task A_reload_blocked_in_a_read_does_not_hold_up_sigterm_and_sighups_meanwhile_coalesce_into_one()
    {
        // As a FIFO without a writer blocks open(2): a thread that does not come back until released.
        _actions.ReloadBody = () => _unblock.Wait();
        var run = Run();
        var blocked = _actions.ReloadStarted.Task;
        _signals.Send(Signal.Reload);
        await blocked.WaitAsync(Bound);

        _signals.Send(Signal.Reload, Signal.Reload);
        await _log.WaitForAsync("one more reload is already due after it");
        _signals.Send(Signal.Terminate);
        var (reason, _) = await _actions.Drained.Task.WaitAsync(Bound);
        Assert.That(reason, Is.EqualTo("SIGTERM"));
        Assert.That(await run, Is.Zero);

        // Released, the blocked reload ends and the two SIGHUPs that came during it make exactly one more.
        var next = _actions.ReloadStarted.Task;
        _unblock.Set();
        Assert.That(await next.WaitAsync(Bound), Is.EqualTo(2));
        await _loop.Reloads.Idle.WaitAsync(Bound);
        Assert.That(_actions.Reloads, Is.EqualTo(2));
    }
}
