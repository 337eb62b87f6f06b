using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>A daemon that does not come up makes <c>pingora -d</c> fail: non-zero, the reason on stderr, and nothing
/// left running or listening, so that systemd (and an operator's script) sees the start fail.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DaemonFailureTests : PingoraTestBase
{
    private TestConfig Config(out ListenerSpec listener)
    {
        var config = NewConfig();
        listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        config.DaemonWaitForReady = true;
        return config;
    }

    [Test]
    public async Task A_daemon_that_never_becomes_ready_is_stopped_and_the_launcher_exits_non_zero()
    {
        var config = Config(out var listener);
        config.DaemonReadyTimeoutSeconds = 1;
        config.Write();
        // The daemon stops itself (SIGSTOP) just before it would tell the launcher it is ready.
        var launcher = StartLauncher(config, new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "daemon-notify" });

        var code = await launcher.WaitForExitAsync(LauncherTimeout(config));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, launcher.LastLines());
            Assert.That(launcher.Stderr, Does.Contain("was not ready within 1 s").And.Contain("daemon_ready_timeout_seconds"));
            Assert.That(File.Exists(config.PidFile), Is.False, "the pid file of the stopped daemon is removed");
        }
        AssertNothingRunning("after the launcher gave up");
        AssertPortFree(listener, "after the launcher gave up");
    }

    [Test]
    public async Task A_daemon_killed_after_writing_its_pid_file_but_before_it_is_ready_leaves_no_pid_file()
    {
        var config = Config(out _);
        config.Write();
        // The daemon stops itself (SIGSTOP) after it has written the pid file, just before it tells the launcher.
        var launcher = StartLauncher(config, new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "daemon-notify" });
        var daemon = AdoptDaemon(await WaitForPidFileAsync(config, null, Timeouts.Startup), config);

        daemon.Kill();
        var code = await launcher.WaitForExitAsync(Timeouts.Phase);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, launcher.LastLines());
            Assert.That(launcher.Stderr, Does.Contain($"the daemon (pid {daemon.Pid}) exited"), launcher.LastLines());
            Assert.That(File.Exists(config.PidFile), Is.False, "the pid file must not name the dead daemon");
        }
        AssertNothingRunning("after the daemon was killed");
    }

    [Test]
    public async Task A_daemon_that_cannot_listen_makes_the_launcher_exit_non_zero_with_the_reason()
    {
        var config = Config(out var listener);
        // Bound without SO_REUSEPORT: the daemon cannot share it.
        using var occupant = new TcpListener(IPAddress.Loopback, listener.Port);
        occupant.Start();
        config.Write();

        var launcher = StartLauncher(config);
        var code = await launcher.WaitForExitAsync(LauncherTimeout(config));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, launcher.LastLines());
            Assert.That(launcher.Stderr, Does.Contain($"cannot listen on {listener.Address}").And.Contain("in use"));
            Assert.That(launcher.Stderr, Does.Contain("exited with code 1 before it was ready"));
            Assert.That(File.Exists(config.PidFile), Is.False);
        }
        AssertNothingRunning("after a failed start");
    }

    [TestCase("pid_file", "cannot write pid file")]
    [TestCase("working_directory", "working_directory")]
    public async Task A_daemon_that_fails_to_start_makes_the_launcher_exit_non_zero_with_the_reason(string broken, string reason)
    {
        var config = Config(out var listener);
        var missing = Path.Combine(TempDir, "no-such-directory");
        if (broken == "pid_file") config.PidFile = Path.Combine(missing, "pingora.pid");
        else config.WorkingDirectory = missing;
        config.Write();

        var launcher = StartLauncher(config);
        var code = await launcher.WaitForExitAsync(LauncherTimeout(config));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Not.Zero, launcher.LastLines());
            Assert.That(launcher.Stderr, Does.Contain(reason).And.Contain(missing), launcher.LastLines());
        }
        AssertNothingRunning("after a failed start");
        AssertPortFree(listener, "after a failed start");
    }

    private static void AssertPortFree(ListenerSpec listener, string when)
    {
        // A plain bind (no SO_REUSEPORT) fails while any process still holds a listener on the port.
        using var probe = new TcpListener(IPAddress.Loopback, listener.Port);
        Assert.DoesNotThrow(() => probe.Start(), $"{when}, {listener.Address} must be free");
    }
}
