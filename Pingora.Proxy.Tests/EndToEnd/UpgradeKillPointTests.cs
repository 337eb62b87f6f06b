using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// One side of the handoff frozen at a named step (PINGORA_TEST_STOP_AT) and then killed with SIGKILL: afterwards
/// one process serves wherever that is possible, no request fails while it does, the pid file names it, and nothing
/// is left running. The load starts while the frozen process is stopped, so nothing is in flight on it when it dies.
/// Killing the only process before the commit leaves nobody serving: the successor gives up cleanly, and bringing
/// the service back is systemd's Restart= (the time to that is the successor's exit, measured here).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeKillPointTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    private static Dictionary<string, string> StopAt(string point) => new() { ["PINGORA_TEST_STOP_AT"] = point };

    /// <summary>Before the commit the predecessor keeps serving (handoff-failed); a successor killed with Ready sent
    /// may have been committed already, and is then reverted. Either way the predecessor is the one.</summary>
    [TestCase("upgrade-received")]
    [TestCase("ready-sent")]
    public async Task The_successor_killed_at_a_step_leaves_the_predecessor_serving(string point)
    {
        var proxy = await StartProxyAsync(c => c.UpgradeAckTimeoutSeconds = 3);
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst, StopAt(point));
        await WaitUntilStoppedAsync(successor, point, predecessor);
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers while the successor is frozen", predecessor);

        successor.Signal(Signals.SIGKILL);
        await successor.WaitForExitAsync(Timeouts.Phase);
        var outcome = await predecessor.WaitForLineAsync(new Regex(@"\bphase=(handoff-failed|upgrade-reverted)\b"),
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
    /// up and exits non-zero, promptly, and nothing is left running.</summary>
    [TestCase("handoff-connected")]
    [TestCase("handoff-sent")]
    public async Task The_predecessor_killed_before_the_commit_leaves_a_successor_that_gives_up_cleanly(string point)
    {
        var proxy = await StartProxyAsync(c => c.UpgradeAckTimeoutSeconds = 5, env: StopAt(point));
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);
        await WaitUntilStoppedAsync(predecessor, point, successor);

        var killed = Stopwatch.StartNew();
        predecessor.Signal(Signals.SIGKILL);
        await predecessor.WaitForExitAsync(Timeouts.Phase);
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
        AssertNothingRunning($"after the predecessor was killed at {point}");
    }

    private async Task StopAndAssertNothingRunningAsync(PingoraProcess survivor, TestConfig config)
    {
        survivor.Signal(Signals.SIGTERM);
        Assert.That(await survivor.WaitForExitAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds)), Is.Zero, survivor.LastLines());
        AssertNothingRunning("after the survivor's stop");
    }
}
