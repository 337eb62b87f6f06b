using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>An upgrade that does not complete leaves the running process serving, without a single failed request,
/// and ready for another attempt.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeFailureTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    [Test]
    public async Task A_successor_killed_right_after_receiving_the_listeners_fails_the_handoff_and_a_later_upgrade_works()
    {
        var proxy = await StartProxyAsync(c => c.UpgradeAckTimeoutSeconds = 3);
        var predecessor = proxy.Pingora;
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers from the predecessor", predecessor);

        // The test hook makes the successor SIGSTOP itself once it holds the fds and before it accepts anything,
        // so the kill below lands at exactly that point rather than somewhere racy.
        var doomed = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst,
            new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "upgrade-received" });
        await WaitUntilStoppedAsync(doomed, "upgrade-received (PINGORA_TEST_STOP_AT)", predecessor);
        doomed.Signal(Signals.SIGKILL);
        Assert.That(await doomed.WaitForExitAsync(Timeouts.Phase), Is.EqualTo(128 + Signals.SIGKILL));

        await predecessor.WaitForPhaseAsync("handoff-failed", Timeouts.AfterConfigured(proxy.Config.UpgradeAckTimeoutSeconds));
        AssertPhaseOrder(predecessor, "handoff-connected", "handoff-sent", "handoff-failed");
        var afterFailure = load.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= afterFailure + AnswersPerStep,
            "the predecessor answering after the failed handoff", predecessor, doomed);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(predecessor.FindPhase("stop-accepting"), Is.Null, "a failed handoff must not stop accepting\n" + predecessor.LastLines());
            Assert.That(predecessor.FindPhase("drain"), Is.Null, "a failed handoff must not drain\n" + predecessor.LastLines());
            Assert.That(load.Snapshot().FailureCount, Is.Zero, () => load.Snapshot().Summary() + "\n" + Diagnostics(predecessor, doomed));
            Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).State, Is.EqualTo("serving"));
        }
        AssertPidFileNames(proxy.Config, predecessor, "after the failed handoff");

        // Retry. The killed successor left its upgrade socket file behind, which must not get in the way either.
        var cursor = predecessor.LineCount;
        var successor = await UpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);
        Assert.That(predecessor.FindPhase("handoff-failed", cursor), Is.Null, predecessor.LastLines());
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep, "answers from the second successor", predecessor, successor);
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        var result = await load.StopAsync();

        AssertNoFailures(result, predecessor, doomed, successor);
        Assert.That(result.AnsweredBy(doomed.Pid), Is.Zero, "the stopped successor never accepted: " + result.Summary());
        AssertPidFileNames(proxy.Config, successor, "after the retried upgrade");
    }

    [Test]
    public async Task A_successor_with_a_bad_config_exits_non_zero_and_the_predecessor_keeps_serving()
    {
        var proxy = await StartProxyAsync(c => c.UpgradeConnectTimeoutSeconds = 1.5);
        var predecessor = proxy.Pingora;
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers from the predecessor", predecessor);

        // An operator edits the file, breaks it, and upgrades anyway.
        proxy.Config.Route("all").ClusterId = "nope";
        proxy.Config.Write();
        var successor = StartPingora(proxy.Config, null, "-u");
        var code = await successor.WaitForExitAsync(Timeouts.Startup);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, successor.LastLines());
            Assert.That(successor.AllText, Does.Contain(proxy.Config.Path), "the successor says which file is wrong\n" + successor.LastLines());
            Assert.That(successor.FindPhase("serving"), Is.Null, successor.LastLines());
        }

        predecessor.Signal(Signals.SIGQUIT);
        await predecessor.WaitForPhaseAsync("handoff-failed", Timeouts.AfterConfigured(proxy.Config.UpgradeConnectTimeoutSeconds));
        var afterFailure = load.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= afterFailure + AnswersPerStep,
            "the predecessor answering after the failed upgrade", predecessor, successor);
        var result = await load.StopAsync();

        AssertNoFailures(result, predecessor, successor);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { predecessor.Pid }), result.Summary());
            Assert.That(predecessor.FindPhase("stop-accepting"), Is.Null, predecessor.LastLines());
            Assert.That(predecessor.HasExited, Is.False, predecessor.LastLines());
            Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).State, Is.EqualTo("serving"));
        }
        AssertPidFileNames(proxy.Config, predecessor, "after the failed upgrade");
    }

    [Test]
    public async Task A_successor_without_a_predecessor_exits_non_zero_after_upgrade_wait_timeout()
    {
        const double waitSeconds = 2;
        var config = NewConfig();
        config.UpgradeWaitTimeoutSeconds = waitSeconds;
        config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        config.Write();

        var successor = StartPingora(config, null, "-u");
        var waiting = await successor.WaitForPhaseAsync("upgrade-wait", Timeouts.Startup);
        var code = await successor.WaitForExitAsync(Timeouts.AfterConfigured(waitSeconds));
        var waited = DateTimeOffset.UtcNow - waiting.SeenAt;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, successor.LastLines());
            Assert.That(waited, Is.GreaterThan(TimeSpan.FromSeconds(waitSeconds * 0.75)),
                "it must wait about upgrade_wait_timeout_seconds before giving up\n" + successor.LastLines());
            Assert.That(successor.FindPhase("serving"), Is.Null, successor.LastLines());
            // A clear message says what it waited for: the upgrade socket, or a predecessor, or the setting.
            Assert.That(successor.AllText,
                Does.Contain(config.UpgradeSock).Or.Contain("predecessor").IgnoreCase.Or.Contain("upgrade_wait_timeout_seconds"),
                successor.LastLines());
            Assert.That(successor.AllText, Does.Not.Contain("   at "), "no stack trace\n" + successor.LastLines());
        }
    }
}
