using Mono.Unix.Native;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// pid_file, error_log and upgrade_sock in a directory other users can write to (world-writable and sticky, as /tmp):
/// another user (nobody) plants symlinks at the names pingora, as root, writes to, or binds upgrade_sock first.
/// Root must never write to, or give away, what a planted name points at, and a squatter must not stop an upgrade.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class PlantedFilesTests : PingoraTestBase
{
    private const int Nobody = 65534;
    private const string SetPriv = "/usr/bin/setpriv";
    private const string Precious = "root's own file\n";

    private string _target = "";

    [SetUp]
    public void ShareTheDirectory()
    {
        if (Syscall.geteuid() != 0) Assert.Ignore($"needs root, to act as uid {Nobody} and to be the victim; these tests run as uid {Syscall.geteuid()}");
        if (!File.Exists(SetPriv)) Assert.Ignore($"{SetPriv} (util-linux) is needed to act as another user");
        File.SetUnixFileMode(TempDir, (UnixFileMode)0x3FF); // 1777, as /tmp
        // A file only root may write, outside the shared directory: what an attacker wants root to overwrite or chown.
        var safe = Directory.CreateDirectory(Path.Combine(TempDir, "root-only"));
        File.SetUnixFileMode(safe.FullName, (UnixFileMode)0x1ED); // 0755
        _target = Path.Combine(safe.FullName, "precious");
        File.WriteAllText(_target, Precious);
    }

    [Test]
    public async Task A_symlink_planted_at_error_log_fails_the_start_and_leaves_its_target_alone()
    {
        var config = Config();
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        config.User = "nobody"; // the old code then also gave the target to nobody
        await PlantAsync(config.ErrorLog);
        config.Write();

        var pingora = StartPingora(["-c", config.Path]);
        Assert.That(await pingora.WaitForExitAsync(Timeouts.Startup), Is.EqualTo(1), pingora.LastLines());
        Assert.That(pingora.Stderr, Does.Contain($"error_log {config.ErrorLog}: is a symbolic link; refusing to follow it"));
        AssertTargetUntouched();
    }

    [Test]
    public async Task Symlinks_planted_at_the_pid_files_temporary_name_are_never_followed()
    {
        // Root writes the pid file at the upgrade's commit. The successor stops itself just before (the test hook),
        // when its pid, and so the old temporary name <pid_file>.<pid>.tmp, is known.
        var proxy = await StartProxyAsync(c => c.UpgradeAckTimeoutSeconds = 20);
        var predecessor = proxy.Pingora;
        var successor = await StartUpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst,
            new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "upgrade-received" });
        await WaitUntilStoppedAsync(successor, predecessor);
        await PlantAsync($"{proxy.Config.PidFile}.{successor.Pid}.tmp");
        successor.Signal(Signals.SIGCONT);

        await AwaitHandoffAsync(predecessor, successor, proxy.Config);
        AssertTargetUntouched();
        AssertPidFileNames(proxy.Config, successor, "after the upgrade");
        Assert.That(new FileInfo(proxy.Config.PidFile).LinkTarget, Is.Null, "the pid file is a file of its own");
    }

    [Test]
    public async Task A_squatted_upgrade_sock_is_refused_and_the_real_successor_still_takes_over()
    {
        var proxy = await StartProxyAsync();
        var predecessor = proxy.Pingora;
        // nobody binds upgrade_sock first and accepts whatever connects.
        var squatter = StartProcess(SetPriv, [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--", "node", "-e",
            "require('net').createServer(c => {}).listen(process.argv[1], () => console.log('squatting'))", proxy.Config.UpgradeSock]);
        await squatter.WaitForLineAsync("squatting", Timeouts.Startup);

        // SIGQUIT first, as the systemd unit's ExecReload does: the predecessor finds the squatter before the successor.
        predecessor.Signal(Signals.SIGQUIT);
        await predecessor.WaitForLineAsync($"uid {Nobody}", Timeouts.Phase);
        Assert.That(predecessor.FindPhase("handoff-failed"), Is.Null, "a refused squatter must not end the attempt\n" + predecessor.LastLines());
        var successor = StartPingora(proxy.Config, null, "-u");

        await AwaitHandoffAsync(predecessor, successor, proxy.Config);
        // Both accept for close_timeout_seconds after the commit; once the predecessor is gone only the successor answers.
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).Pid, Is.EqualTo(successor.Pid));
    }

    private TestConfig Config()
    {
        var config = NewConfig();
        config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        return config;
    }

    /// <summary>As nobody, a symlink at <paramref name="path"/> to root's file.</summary>
    private async Task PlantAsync(string path)
    {
        var ln = StartProcess(SetPriv, [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--", "ln", "-s", _target, path]);
        Assert.That(await ln.WaitForExitAsync(Timeouts.Phase), Is.Zero, ln.LastLines());
    }

    private void AssertTargetUntouched()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(File.ReadAllText(_target), Is.EqualTo(Precious), "root's file was written through a planted symlink");
            Assert.That(Syscall.stat(_target, out var stat), Is.Zero);
            Assert.That(stat.st_uid, Is.Zero, "root's file was given away");
        }
    }
}
