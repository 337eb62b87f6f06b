using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary><c>pingora -d</c>: the launcher returns once the daemon serves; the daemon is detached (own session, no
/// terminal, no hold on the caller's output), logs to error_log, and SIGTERM to the pid in the pid file drains it.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DaemonTests : PingoraTestBase
{
    [Test]
    public async Task Minus_d_returns_once_the_daemon_serves_and_the_daemon_is_detached()
    {
        var (config, listener) = await NewDaemonConfigAsync(waitForReady: true);
        var (launcher, daemon) = await StartDaemonAsync(config);

        // No retry and no wait: -d has returned, so the daemon must already answer.
        var status = await NewClient().GetStatusAsync(listener.Url("/status"));
        var stat = ProcStat.Read(daemon.Pid);
        Assert.That(stat, Is.Not.Null, $"the daemon (pid {daemon.Pid}) did not survive its launcher");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status.Pid, Is.EqualTo(daemon.Pid), "the pid file names the process that answers");
            Assert.That(daemon.Pid, Is.Not.EqualTo(launcher.Pid), "the daemon is a process of its own, not the launcher");
            Assert.That(stat!.Session, Is.EqualTo(daemon.Pid), "the daemon leads its own session (setsid)");
            Assert.That(stat.TtyNr, Is.Zero, "the daemon has no controlling terminal");
            Assert.That(stat.ParentPid, Is.Not.EqualTo(launcher.Pid), "the launcher has exited; the daemon lives on");
            Assert.That(launcher.OutputClosed, Is.True,
                "the launcher's stdout and stderr are closed once it exits: the daemon must not hold them " +
                "(a caller's $(pingora -d) would wait forever)");
            Assert.That(launcher.Stderr, Does.Not.Contain("phase="), "with error_log set, nothing of the log goes to the caller");
            Assert.That(Link(daemon.Pid, "cwd"), Is.EqualTo("/"), "working directory");
            Assert.That(Link(daemon.Pid, "fd/0"), Is.EqualTo("/dev/null"), "stdin");
            Assert.That(Link(daemon.Pid, "fd/1"), Is.EqualTo("/dev/null"), "stdout");
            Assert.That(Link(daemon.Pid, "fd/2"), Is.EqualTo(config.ErrorLog), "stderr goes to error_log once ready");
        }
        var serving = await daemon.WaitForPhaseAsync("serving", Timeouts.Phase);
        Assert.That(serving.Source, Is.EqualTo("log"), "the daemon's log is in error_log");

        Signals.Send(ReadPidFile(config), Signals.SIGTERM);
        await daemon.WaitForGoneAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        AssertPhaseOrder(daemon, "serving", "stop-accepting", "drain", "drained", "exit");
        AssertExitLogged(daemon, 0);
        Assert.That(File.Exists(config.PidFile), Is.False, "a clean exit removes the pid file");
    }

    [Test]
    public async Task Without_daemon_wait_for_ready_the_launcher_returns_at_once_and_the_daemon_comes_up_alone()
    {
        var (config, listener) = await NewDaemonConfigAsync(waitForReady: false);
        config.Write();
        var launcher = StartLauncher(config);
        Assert.That(await launcher.WaitForExitAsync(Timeouts.Startup), Is.Zero, launcher.LastLines());

        // The launcher did not wait: the pid file appears once the daemon serves, whenever that is.
        var daemon = AdoptDaemon(await WaitForPidFileAsync(config, null, Timeouts.Startup), config);
        await daemon.WaitForPhaseAsync("serving", Timeouts.Phase);
        var status = await NewClient().GetStatusAsync(listener.Url("/status"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status.Pid, Is.EqualTo(daemon.Pid));
            Assert.That(ProcStat.Read(daemon.Pid)?.TtyNr, Is.Zero, "no controlling terminal");
            Assert.That(ProcStat.Read(daemon.Pid)?.Session, Is.EqualTo(daemon.Pid), "own session");
            Assert.That(launcher.OutputClosed, Is.True, "the daemon holds none of the launcher's output");
            Assert.That(Link(daemon.Pid, "fd/2"), Is.EqualTo(config.ErrorLog), "nobody relays stderr, so it goes to error_log at once");
        }

        daemon.Signal(Signals.SIGTERM);
        await daemon.WaitForGoneAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        AssertExitLogged(daemon, 0);
        Assert.That(File.Exists(config.PidFile), Is.False, "a clean exit removes the pid file");
    }

    [Test]
    public async Task Without_error_log_the_launcher_relays_the_daemons_start_up_to_serving()
    {
        var (config, listener) = await NewDaemonConfigAsync(waitForReady: true);
        config.ErrorLog = null;
        config.Write();
        var launcher = StartLauncher(config);
        Assert.That(await launcher.WaitForExitAsync(Timeouts.Startup), Is.Zero, launcher.LastLines());
        var daemon = AdoptDaemon(ReadPidFile(config), config);

        // Every line up to readiness reaches the caller before -d returns: the daemon closes the pipe as it signals.
        Assert.That(launcher.FindPhase("serving")?.Text, Does.Contain($"pingora[{daemon.Pid}]"), launcher.LastLines());
        Assert.That(launcher.OutputClosed, Is.True);
        Assert.That(Link(daemon.Pid, "fd/2"), Is.EqualTo("/dev/null"), "after readiness, with no error_log, the log goes nowhere");
        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(daemon.Pid));
    }

    [Test]
    public async Task Sighup_reloads_a_daemon_started_with_a_relative_config_path()
    {
        // The daemon changes to / while the operator named the file relative to their own directory.
        var (config, listener) = await NewDaemonConfigAsync(waitForReady: true);
        config.Write();
        var launcher = StartPingora(["-d", "-c", Path.GetRelativePath(Path.GetTempPath(), config.Path)]);
        Assert.That(await launcher.WaitForExitAsync(Timeouts.Startup), Is.Zero, launcher.LastLines());
        var daemon = AdoptDaemon(ReadPidFile(config), config);
        await daemon.WaitForPhaseAsync("serving", Timeouts.Phase);

        config.AddRoute("added", "c1", "/added/{**rest}");
        config.Write();
        var from = daemon.LineCount;
        daemon.Signal(Signals.SIGHUP);
        var reload = await daemon.WaitForPhaseAsync("reload", Timeouts.Phase, from);
        Assert.That(reload.Text, Does.Contain("ok: 2 routes"), daemon.LastLines());
        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(daemon.Pid));
    }

    private static string Link(int pid, string entry) => new FileInfo($"/proc/{pid}/{entry}").LinkTarget ?? "(not a link)";
}
