using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// A successor killed after the commit, while its predecessor still accepts (close_timeout) or drains: the
/// predecessor takes everything back (phase=upgrade-reverted), so no connection attempt fails; it names itself in the
/// pid file and serves on as if the upgrade had never happened, and a later upgrade works. Each load starts while
/// the successor is stopped, so that nothing is in flight on it when it is killed: every failure counted is the
/// predecessor's.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeRevertTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    [Test]
    public async Task A_successor_killed_right_after_the_commit_is_reverted_and_no_request_fails_past_close_timeout()
    {
        var proxy = await StartProxyAsync(c => c.CloseTimeoutSeconds = 3);
        var predecessor = proxy.Pingora;
        var doomed = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst,
            new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "upgrade-committed" });
        var acknowledged = await predecessor.WaitForPhaseAsync("handoff-acknowledged", Timeouts.AfterConfigured(proxy.Config.UpgradeAckTimeoutSeconds));
        await WaitUntilStoppedAsync(doomed, "upgrade-committed (PINGORA_TEST_STOP_AT)", predecessor);
        AssertPidFileNames(proxy.Config, doomed, "once the successor committed");

        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers while the successor is stopped", predecessor);
        doomed.Signal(Signals.SIGKILL);
        Assert.That(await doomed.WaitForExitAsync(Timeouts.Phase), Is.EqualTo(128 + Signals.SIGKILL));

        var reverted = await predecessor.WaitForPhaseAsync("upgrade-reverted", Timeouts.Phase);
        Assert.That(reverted.Text, Does.Contain("died"), predecessor.LastLines());
        // Well past the moment the predecessor would have stopped accepting, one answer after another.
        var closeTimeoutOver = acknowledged.SeenAt + TimeSpan.FromSeconds(proxy.Config.CloseTimeoutSeconds + 1);
        var afterRevert = load.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= afterRevert + AnswersPerStep && DateTimeOffset.UtcNow > closeTimeoutOver,
            "answers from the reverted predecessor past close_timeout", predecessor);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(predecessor.FindPhase("stop-accepting"), Is.Null, "a reverted upgrade must not stop accepting\n" + predecessor.LastLines());
            Assert.That(load.Snapshot().FailureCount, Is.Zero, () => load.Snapshot().Summary() + "\n" + Diagnostics(predecessor, doomed));
            Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).State, Is.EqualTo("serving"));
        }
        AssertPidFileNames(proxy.Config, predecessor, "after the revert");

        // A later SIGQUIT tries again, and this time the upgrade completes.
        var successor = await UpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SignalFirst);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep, "answers from the second successor", predecessor, successor);
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        var result = await load.StopAsync();
        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.AnsweredBy(doomed.Pid), Is.Zero, "the stopped successor never answered: " + result.Summary());
        AssertPidFileNames(proxy.Config, successor, "after the retried upgrade");
    }

    /// <summary>
    /// Killed once the predecessor has stopped accepting: while it waits for idle connections to settle (its Kestrel
    /// still runs, accepting resumes), and once Kestrel's stop has begun (a fresh host on the same sockets). A slow
    /// response in flight on the old host finishes whole either way. The load starts while nobody accepts: its
    /// connections wait in the kernel's queue, which the predecessor never closed.
    /// </summary>
    [TestCase("stop-accepting", 30)]
    [TestCase("drain", 0.5)]
    public async Task A_successor_killed_during_the_drain_is_reverted_and_queued_connections_are_served(string phase, double drainIdleTimeout)
    {
        const int slowBytes = 50_000;
        using var held = await UpgradeHeldInDrainAsync(phase, drainIdleTimeout, slowMs: 6000, slowBytes);
        var (proxy, successor, slow) = (held.Proxy, held.Successor, held.Slow);
        var predecessor = proxy.Pingora;
        successor.Signal(Signals.SIGSTOP);
        await WaitUntilStoppedAsync(successor, "SIGSTOP", predecessor);
        var load = StartMixedLoad(proxy.Listener);
        successor.Signal(Signals.SIGKILL);
        await successor.WaitForExitAsync(Timeouts.Phase);

        var reverted = await predecessor.WaitForPhaseAsync("upgrade-reverted", Timeouts.Phase);
        Assert.That(reverted.Text, phase == "drain" ? Does.Contain("host restarted") : Does.Not.Contain("host restarted"), predecessor.LastLines());
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers from the reverted predecessor", predecessor);
        Assert.That((await slow.WaitAsync(Timeouts.Request)).Length, Is.EqualTo(slowBytes), "the slow response in flight through the revert");
        AssertPidFileNames(proxy.Config, predecessor, "after the revert");
        Assert.That(predecessor.FindPhase("drained"), Is.Null, predecessor.LastLines());

        var result = await load.StopAsync();
        predecessor.Signal(Signals.SIGTERM);
        Assert.That(await predecessor.WaitForExitAsync(Timeouts.AfterConfigured(proxy.Config.GracefulShutdownTimeoutSeconds)), Is.Zero, predecessor.LastLines());
        AssertNoFailures(result, predecessor, successor);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { predecessor.Pid }), result.Summary());
        AssertNothingRunning("after the reverted predecessor's stop");
    }
}
