using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// <c>pingora -u -d</c>, as systemd's ExecReload runs it. Its launcher returns once the successor waits on
/// upgrade_sock, so SIGQUIT may come before or after it; the handoff's outcome is the daemons' business, and a
/// handoff that never happens leaves the running daemon serving and the pid file naming it.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DaemonUpgradeTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    private async Task<(TestConfig Config, ListenerSpec Listener, PingoraProcess Daemon)> StartAsync(Action<TestConfig>? adjust = null)
    {
        var (config, listener) = await NewDaemonConfigAsync();
        adjust?.Invoke(config);
        var (_, daemon) = await StartDaemonAsync(config);
        return (config, listener, daemon);
    }

    [TestCase(UpgradeOrder.SignalFirst)]
    [TestCase(UpgradeOrder.SuccessorFirst)]
    public async Task Minus_u_minus_d_takes_over_under_load_in_either_order(UpgradeOrder order)
    {
        var (config, listener, first) = await StartAsync();
        var load = StartMixedLoad(listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(first.Pid) >= AnswersPerStep, "answers from the first daemon", first);

        if (order == UpgradeOrder.SignalFirst) first.Signal(Signals.SIGQUIT);
        var launcher = StartLauncher(config, null, "-u");
        Assert.That(await launcher.WaitForExitAsync(LauncherTimeout(config)), Is.Zero, launcher.LastLines());
        if (order == UpgradeOrder.SuccessorFirst) first.Signal(Signals.SIGQUIT);

        var second = AdoptDaemon(await WaitForPidFileAsync(config, first.Pid, Timeouts.AfterConfigured(config.UpgradeConnectTimeoutSeconds)), config);
        await second.WaitForPhaseAsync("upgrade-committed", Timeouts.Phase);
        await WaitForLoadAsync(load, s => s.AnsweredBy(second.Pid) >= AnswersPerStep, "answers from the successor", first, second);
        await first.WaitForGoneAsync(Timeouts.AfterConfigured(config.CloseTimeoutSeconds + config.GracePeriodSeconds));
        var result = await load.StopAsync();

        AssertNoFailures(result, first, second);
        AssertPhaseOrder(second, "upgrade-wait", "upgrade-received", "serving", "upgrade-committed");
        AssertExitLogged(first, 0);
        Assert.That(ReadPidFile(config), Is.EqualTo(second.Pid));
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { first.Pid, second.Pid }), result.Summary());
    }

    [Test]
    public async Task A_successor_that_never_gets_the_listeners_exits_and_the_running_daemon_keeps_serving()
    {
        var (config, listener, first) = await StartAsync(c => c.UpgradeWaitTimeoutSeconds = 2);

        // Ready for its launcher at upgrade-wait: -u -d succeeds although no SIGQUIT ever comes.
        var launcher = StartLauncher(config, null, "-u");
        Assert.That(await launcher.WaitForExitAsync(LauncherTimeout(config)), Is.Zero, launcher.LastLines());
        // It logged phase=upgrade-wait before it told its launcher; the line names its pid.
        var waiting = Regex.Match(await File.ReadAllTextAsync(config.ErrorLog!), @"pingora\[(\d+)\] phase=upgrade-wait");
        Assert.That(waiting.Success, Is.True, "the successor's phase=upgrade-wait line is in error_log when its launcher returns");
        var successor = AdoptDaemon(int.Parse(waiting.Groups[1].Value), config);

        await successor.WaitForGoneAsync(Timeouts.AfterConfigured(config.UpgradeWaitTimeoutSeconds));
        AssertExitLogged(successor, 1);
        Assert.That(successor.AllText, Does.Contain("no running instance handed over its listeners"));
        Assert.That(ReadPidFile(config), Is.EqualTo(first.Pid), "the pid file still names the running daemon");
        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(first.Pid));
    }
}
