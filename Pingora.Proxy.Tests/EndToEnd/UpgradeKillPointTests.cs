using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// One side of the handoff frozen at a named step (PINGORA_TEST_STOP_AT, or SIGSTOP during close_timeout and the
/// drain) and then killed with SIGKILL: afterwards one process serves wherever that is possible, no connection attempt
/// fails while it does, the pid file names it, and nothing is left running. The load starts while the frozen process
/// is stopped, so nothing of it is in flight there when it dies; what a test put in flight on the killed process
/// itself is the only permitted loss, and is counted as such. Killing the only process before the commit leaves
/// nobody serving: the successor gives up cleanly, and bringing the service back is systemd's Restart= (the time to
/// that is the successor's exit, measured here). The whole matrix, side by step, and the test of each cell:
/// Pingora.Proxy.Tests/README.md, "Kill points".
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeKillPointTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    /// <summary>The workers of <see cref="PingoraTestBase.StartMixedLoad"/>, each with at most one request in flight.</summary>
    private const int LoadWorkers = 4;

    private static Dictionary<string, string> StopAt(string point) => new() { ["PINGORA_TEST_STOP_AT"] = point };

    /// <summary>Before the commit the predecessor keeps serving (handoff-failed); a successor killed with Ready sent
    /// may have been committed already, and one killed with the Commit received (its pid file not yet written) has
    /// been: it is reverted. Either way the predecessor is the one. close_timeout outlasts the test, so that a
    /// committed predecessor is still accepting when the successor dies.</summary>
    [TestCase("upgrade-connected", "handoff-failed")] // the fds sent wait unread in its socket
    [TestCase("upgrade-received", "handoff-failed")]
    [TestCase("ready-sent", "handoff-failed|upgrade-reverted")]
    [TestCase("commit-received", "upgrade-reverted")]
    public async Task The_successor_killed_at_a_step_leaves_the_predecessor_serving(string point, string expected)
    {
        var proxy = await StartProxyAsync(c =>
        {
            c.UpgradeAckTimeoutSeconds = 3;
            c.CloseTimeoutSeconds = 30;
        });
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst, StopAt(point));
        await WaitUntilStoppedAsync(successor, point, predecessor);
        await predecessor.WaitForPhaseAsync("handoff-sent", Timeouts.Phase);
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers while the successor is frozen", predecessor);

        successor.Signal(Signals.SIGKILL);
        await successor.WaitForExitAsync(Timeouts.Phase);
        var outcome = await predecessor.WaitForLineAsync(new Regex($@"\bphase=({expected})\b"),
            Timeouts.AfterConfigured(proxy.Config.UpgradeAckTimeoutSeconds));
        var after = load.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= after + AnswersPerStep, "answers after the kill", predecessor);
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"{point}: {outcome.Text}; {result.Summary()}");

        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { predecessor.Pid }), result.Summary());
        AssertPidFileNames(proxy.Config, predecessor, $"after the successor was killed at {point}");
        await StopAndAssertNothingRunningAsync(predecessor, proxy.Config);
    }

    /// <summary>Killed after it connected, before anything was sent (the predecessor is frozen right after its
    /// connect): the predecessor's sendmsg finds the connection closed, and it keeps serving on the listeners it never
    /// let go of (Pingora shuts them even when the send failed).</summary>
    [Test]
    public async Task The_successor_killed_before_the_fds_are_sent_leaves_the_predecessor_serving()
    {
        var proxy = await StartProxyAsync(env: StopAt("handoff-connected"));
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst, StopAt("upgrade-connected"));
        await WaitUntilStoppedAsync(predecessor, "handoff-connected", successor);
        await WaitUntilStoppedAsync(successor, "upgrade-connected", predecessor);
        // Both frozen: the load's connections wait in the kernel's queue of the predecessor's listening socket.
        var load = StartMixedLoad(proxy.Listener);

        successor.Signal(Signals.SIGKILL);
        await successor.WaitForExitAsync(Timeouts.Phase);
        predecessor.Signal(Signals.SIGCONT);
        var failed = await predecessor.WaitForPhaseAsync("handoff-failed", Timeouts.Phase);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers after the kill", predecessor);
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"{failed.Text}; {result.Summary()}");

        Assert.That(predecessor.FindPhase("handoff-sent"), Is.Null, "nothing was sent to the dead successor\n" + predecessor.LastLines());
        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { predecessor.Pid }), result.Summary());
        AssertPidFileNames(proxy.Config, predecessor, "after the successor was killed before the fds were sent");
        await StopAndAssertNothingRunningAsync(predecessor, proxy.Config);
    }

    /// <summary>Killed after the commit, the predecessor leaves the successor serving alone.</summary>
    [Test]
    public async Task The_predecessor_killed_after_sending_the_commit_leaves_the_successor_serving()
    {
        var proxy = await StartProxyAsync(env: StopAt("handoff-acknowledged"));
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);
        await WaitUntilStoppedAsync(predecessor, "handoff-acknowledged", successor);
        await successor.WaitForPhaseAsync("upgrade-committed", Timeouts.Phase);
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep, "answers from the successor", predecessor, successor);

        predecessor.Signal(Signals.SIGKILL);
        await predecessor.WaitForExitAsync(Timeouts.Phase);
        var after = load.Snapshot().AnsweredBy(successor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= after + AnswersPerStep, "answers after the kill", successor);
        var result = await load.StopAsync();

        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { successor.Pid }), result.Summary());
        AssertPidFileNames(proxy.Config, successor, "after the predecessor was killed");
        await StopAndAssertNothingRunningAsync(successor, proxy.Config);
    }

    /// <summary>Killed before the commit, the predecessor leaves a successor that cannot know it may serve: it gives
    /// up and exits non-zero, promptly, and nothing is left running. The pid file still names the killed predecessor
    /// (the successor writes it only once committed), so a service manager sees its main process gone. Where the
    /// predecessor has no step of its own (the successor reading the fds), the successor is frozen there as well and
    /// continued once the predecessor is dead.</summary>
    [TestCase("handoff-connected", null)]
    [TestCase("handoff-sent", "upgrade-connected")] // fds sent, unread
    [TestCase("handoff-sent", "upgrade-received")] // fds received
    [TestCase("ready-received", null)] // Ready sent and received, no Commit
    public async Task The_predecessor_killed_before_the_commit_leaves_a_successor_that_gives_up_cleanly(string point, string? successorPoint)
    {
        var proxy = await StartProxyAsync(c => c.UpgradeAckTimeoutSeconds = 5, env: StopAt(point));
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst,
            successorPoint is null ? null : StopAt(successorPoint));
        await WaitUntilStoppedAsync(predecessor, point, successor);
        if (successorPoint is not null) await WaitUntilStoppedAsync(successor, successorPoint, predecessor);

        var killed = Stopwatch.StartNew();
        predecessor.Signal(Signals.SIGKILL);
        await predecessor.WaitForExitAsync(Timeouts.Phase);
        if (successorPoint is not null) successor.Signal(Signals.SIGCONT);
        var code = await successor.WaitForExitAsync(Timeouts.AfterConfigured(proxy.Config.UpgradeAckTimeoutSeconds));
        await TestContext.Out.WriteLineAsync($"{point}: the successor exited {code} {killed.ElapsedMilliseconds} ms after the kill");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, successor.LastLines());
            Assert.That(successor.FindPhase("upgrade-committed"), Is.Null, successor.LastLines());
            Assert.That(successor.AllText, Does.Not.Contain("   at "), "no stack trace\n" + successor.LastLines());
            Assert.That(killed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(proxy.Config.UpgradeAckTimeoutSeconds)),
                "the successor sees the closed connection at once, not at upgrade_ack_timeout_seconds\n" + successor.LastLines());
        }
        AssertPidFileNames(proxy.Config, predecessor, $"after the predecessor was killed at {point}");
        AssertNothingRunning($"after the predecessor was killed at {point}");
    }

    /// <summary>
    /// Killed before its commit while it is not the only process: its own predecessor still accepts (close_timeout of
    /// the first upgrade), sees it die without a release, and reverts; the third process gives up. So nobody serving
    /// after a kill before the commit is the sole-process case only.
    /// </summary>
    [Test]
    public async Task The_predecessor_killed_before_its_commit_is_reverted_by_its_own_predecessor_still_accepting()
    {
        var proxy = await StartProxyAsync(c => c.CloseTimeoutSeconds = 30);
        var first = proxy.Pingora;
        var middle = await StartUpgradeAsync(first, proxy.Config, UpgradeOrder.SuccessorFirst, StopAt("handoff-sent"));
        await AwaitHandoffAsync(first, middle, proxy.Config);
        var third = await StartUpgradeAsync(middle, proxy.Config, UpgradeOrder.SuccessorFirst);
        await WaitUntilStoppedAsync(middle, "handoff-sent", first, third);
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(first.Pid) >= AnswersPerStep, "answers from the first process", first, middle, third);

        middle.Signal(Signals.SIGKILL);
        await middle.WaitForExitAsync(Timeouts.Phase);
        var reverted = await first.WaitForPhaseAsync("upgrade-reverted", Timeouts.Phase);
        Assert.That(await third.WaitForExitAsync(Timeouts.AfterConfigured(proxy.Config.UpgradeAckTimeoutSeconds)), Is.Not.Zero, third.LastLines());
        var after = load.Snapshot().AnsweredBy(first.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(first.Pid) >= after + AnswersPerStep, "answers after the kill", first);
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"{reverted.Text}; {result.Summary()}");

        Assert.That(third.FindPhase("upgrade-committed"), Is.Null, third.LastLines());
        AssertNoFailures(result, first, middle, third);
        AssertPidFileNames(proxy.Config, first, "after the middle process was killed before its commit");
        await StopAndAssertNothingRunningAsync(first, proxy.Config);
    }

    /// <summary>
    /// Killed while both accept (close_timeout), under a load that it serves too: the successor serves alone, and
    /// the only requests lost are the ones in flight on the predecessor when it died. They are counted on a load
    /// that runs through the upgrade and the kill: each of its workers has at most one request outstanding, so at
    /// most one per worker, and only as a connection cut (never refused, never timed out). A second load, started
    /// while the predecessor is frozen, has nothing on it and loses nothing.
    /// </summary>
    [Test]
    public async Task The_predecessor_killed_during_close_timeout_leaves_the_successor_serving_alone()
    {
        var proxy = await StartProxyAsync(c => c.CloseTimeoutSeconds = 30);
        var predecessor = proxy.Pingora;
        var through = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(through, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers before the upgrade", predecessor);
        var successor = await UpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);
        var atCommit = through.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(through, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep && s.AnsweredBy(predecessor.Pid) > atCommit,
            "answers from both during close_timeout", predecessor, successor);

        predecessor.Signal(Signals.SIGSTOP);
        await WaitUntilStoppedAsync(predecessor, "SIGSTOP", successor);
        Assert.That(predecessor.FindPhase("stop-accepting"), Is.Null, "killed within close_timeout\n" + predecessor.LastLines());
        var load = StartMixedLoad(proxy.Listener);
        predecessor.Signal(Signals.SIGKILL);
        await predecessor.WaitForExitAsync(Timeouts.Phase);
        var lost = await through.StopAsync();
        var after = load.Snapshot().AnsweredBy(successor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= after + AnswersPerStep, "answers after the kill", successor);
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"through the kill: {lost.Summary()}\nafter it: {result.Summary()}");

        AssertInFlightLossesOnly(lost, predecessor, successor);
        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { successor.Pid }), result.Summary());
        AssertPidFileNames(proxy.Config, successor, "after the predecessor was killed during close_timeout");
        await StopAndAssertNothingRunningAsync(successor, proxy.Config);
    }

    /// <summary>
    /// Killed while it drains: waiting for its connections to settle (Kestrel still runs), and once Kestrel's stop
    /// has begun. The successor serves alone. A slow response the test started on the predecessor before the upgrade
    /// is in flight there when it dies: that one request is the permitted loss, and it is lost; the load, started
    /// while the predecessor is frozen, loses nothing.
    /// </summary>
    [TestCase("stop-accepting", 30)]
    [TestCase("drain", 0.5)]
    public async Task The_predecessor_killed_during_the_drain_leaves_the_successor_serving_alone(string phase, double drainIdleTimeout)
    {
        using var held = await UpgradeHeldInDrainAsync(phase, drainIdleTimeout, slowMs: 8000, slowBytes: 50_000);
        var (proxy, successor, slow) = (held.Proxy, held.Successor, held.Slow);
        var predecessor = proxy.Pingora;
        predecessor.Signal(Signals.SIGSTOP);
        await WaitUntilStoppedAsync(predecessor, "SIGSTOP", successor);
        Assert.That(predecessor.FindPhase("drained"), Is.Null, "killed within the drain\n" + predecessor.LastLines());
        var load = StartMixedLoad(proxy.Listener);
        predecessor.Signal(Signals.SIGKILL);
        await predecessor.WaitForExitAsync(Timeouts.Phase);

        var after = load.Snapshot().AnsweredBy(successor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= after + AnswersPerStep, "answers after the kill", successor);
        Assert.That(async () => await slow.WaitAsync(Timeouts.Request), Throws.InstanceOf<HttpRequestException>(),
            "the slow response was in flight on the killed predecessor");
        var result = await load.StopAsync();

        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { successor.Pid }), result.Summary());
        AssertPidFileNames(proxy.Config, successor, $"after the predecessor was killed at {phase}");
        await StopAndAssertNothingRunningAsync(successor, proxy.Config);
    }

    /// <summary>A load that ran through the kill lost at most what was in flight on the killed process: one request
    /// per worker, each cut with its connection, none refused or left unanswered.</summary>
    private static void AssertInFlightLossesOnly(LoadSnapshot load, params PingoraProcess[] processes)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(load.FailureCount, Is.LessThanOrEqualTo(LoadWorkers), () => load.Summary() + "\n" + Diagnostics(processes));
            Assert.That(load.Failures[FailureKind.Refused], Is.Zero, () => load.Summary());
            Assert.That(load.Failures[FailureKind.Timeout], Is.Zero, () => load.Summary());
            Assert.That(load.Failures[FailureKind.NonSuccessStatus], Is.Zero, () => load.Summary());
            Assert.That(load.HitLimit, Is.False, () => load.Summary());
        }
    }

    private async Task StopAndAssertNothingRunningAsync(PingoraProcess survivor, TestConfig config)
    {
        survivor.Signal(Signals.SIGTERM);
        Assert.That(await survivor.WaitForExitAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds)), Is.Zero, survivor.LastLines());
        AssertNothingRunning("after the survivor's stop");
    }
}
