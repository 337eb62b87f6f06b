using Mono.Unix.Native;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// <c>user:</c> started as root: the daemon binds, then every thread runs as that user, with that user's groups only;
/// and a successor started without any privilege takes over a port below 1024 through the handoff. Needs root (CI
/// runs as root); skipped with the reason otherwise.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DaemonPrivilegeDropTests : PingoraTestBase
{
    private const string ServiceUser = "nobody";
    private const string SetPriv = "/usr/bin/setpriv";

    /// <summary>Groups the launcher gets on top of root's, which the daemon must not keep (adm, dialout).</summary>
    private static readonly int[] LauncherExtraGroups = [4, 20];

    private (int Uid, int Gid, int[] Groups) _service;

    [SetUp]
    public async Task RequireRootAsync()
    {
        if (Syscall.geteuid() != 0)
            Assert.Ignore($"privilege drop needs root to start the daemon; these tests run as uid {Syscall.geteuid()}");
        if (!File.Exists(SetPriv))
            Assert.Ignore($"{SetPriv} (util-linux) is needed to start processes with given groups or as {ServiceUser}");
        _service = ((await IdAsync("-u")).Single(), (await IdAsync("-g")).Single(), await IdAsync("-G"));
        Assert.That(_service.Groups, Is.Not.SupersetOf(LauncherExtraGroups),
            $"{ServiceUser} itself belongs to the groups the launcher gets: choose other groups or this test cannot fail");
        // The dropped daemon replaces and removes the pid file, and the unprivileged successor binds upgrade_sock, here.
        File.SetUnixFileMode(TempDir, (UnixFileMode)0x3FF); // 1777, as /tmp: without the sticky bit pingora refuses it
    }

    [Test]
    public async Task Every_thread_of_the_daemon_runs_as_the_configured_user_with_its_groups_only()
    {
        var (config, listener) = Config(config => config.AddListener());
        config.Write();
        var launcher = StartProcess(SetPriv, ["--groups", string.Join(',', LauncherExtraGroups), "--",
            RepoPaths.RequireBinary(), "-d", "-c", config.Path]);
        Assert.That(await launcher.WaitForExitAsync(LauncherTimeout(config)), Is.Zero, launcher.LastLines());
        var daemon = AdoptDaemon(ReadPidFile(config), config);

        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(daemon.Pid));
        AssertRunsAsServiceUser(daemon);
        Assert.That(Owner(config.PidFile), Is.EqualTo(_service.Uid), "the pid file is the service user's");
        var serving = await daemon.WaitForPhaseAsync("serving", Timeouts.Phase);
        Assert.That(serving.Text, Does.EndWith($"as {ServiceUser}"));
        // Nothing may reach for root's home after the drop (Data Protection's default key ring is there).
        Assert.That(daemon.Lines.Where(l => l.Text.Contains("[ERR]") || l.Text.Contains("[WRN]")).Select(l => l.Text),
            Is.Empty, daemon.LastLines());

        // Still able to remove its pid file as the service user.
        daemon.Signal(Signals.SIGTERM);
        await daemon.WaitForGoneAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        AssertExitLogged(daemon, 0);
        Assert.That(File.Exists(config.PidFile), Is.False, "the dropped daemon removed its pid file");
    }

    [Test]
    public async Task A_tls_key_only_root_can_read_is_read_before_the_drop()
    {
        var certificate = CreateCertificate();
        File.SetUnixFileMode(certificate.KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite); // 0600, root's
        var (config, listener) = Config(config => config.AddListener(certificate));
        config.Write();
        var launcher = StartProcess(RepoPaths.RequireBinary(), ["-d", "-c", config.Path]);
        Assert.That(await launcher.WaitForExitAsync(LauncherTimeout(config)), Is.Zero, launcher.LastLines());
        var daemon = AdoptDaemon(ReadPidFile(config), config);

        AssertRunsAsServiceUser(daemon);
        using var client = NewClient(certificate);
        Assert.That((await client.GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(daemon.Pid));
    }

    [Test]
    public async Task A_successor_started_unprivileged_takes_over_a_port_below_1024()
    {
        var (config, listener) = Config(config =>
        {
            var privileged = new ListenerSpec(FreePort.NextPrivileged(), null, null);
            config.Listeners.Add(privileged);
            return privileged;
        });
        var (_, predecessor) = await StartDaemonAsync(config);

        // As the service user from the start, with its groups, as systemd runs ExecReload. A single-file build
        // (-p:PingoraAot=false) must unpack its native library somewhere that user can write (root's $HOME is not).
        var bundleDir = Path.Combine(TempDir, "bundle");
        var successorLauncher = StartProcess(SetPriv,
            [$"--reuid={_service.Uid}", $"--regid={_service.Gid}", "--init-groups", "--", RepoPaths.RequireBinary(), "-u", "-d", "-c", config.Path],
            new Dictionary<string, string> { ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = bundleDir });
        // Ready for its launcher once it waits on upgrade_sock (see README, "Upgrade without downtime").
        Assert.That(await successorLauncher.WaitForExitAsync(LauncherTimeout(config)), Is.Zero, successorLauncher.LastLines());
        await predecessor.WaitForPhaseAsync("serving", Timeouts.Phase);
        predecessor.Signal(Signals.SIGQUIT);

        var successorPid = await WaitForPidFileAsync(config, predecessor.Pid, Timeouts.AfterConfigured(config.UpgradeAckTimeoutSeconds));
        var successor = AdoptDaemon(successorPid, config);
        await predecessor.WaitForGoneAsync(Timeouts.AfterConfigured(config.CloseTimeoutSeconds + config.GracePeriodSeconds));
        AssertExitLogged(predecessor, 0);

        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(successor.Pid),
            $"the successor, never privileged, answers on {listener.Address}");
        var listen = await successor.WaitForPhaseAsync("listen", Timeouts.Phase);
        Assert.That(listen.Text, Does.Contain("adopted"), "the port came through the handoff, not a bind");
        AssertRunsAsServiceUser(successor);
    }

    private (TestConfig Config, ListenerSpec Listener) Config(Func<TestConfig, ListenerSpec> addListener)
    {
        var config = NewConfig();
        var listener = addListener(config);
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        config.DaemonWaitForReady = true;
        config.User = ServiceUser;
        return (config, listener);
    }

    /// <summary>Real, effective, saved and filesystem ids of every thread; a raw setuid syscall would have changed
    /// only one thread.</summary>
    private void AssertRunsAsServiceUser(PingoraProcess daemon)
    {
        var threads = Directory.GetDirectories($"/proc/{daemon.Pid}/task");
        Assert.That(threads, Has.Length.GreaterThan(1), "a .NET process has many threads; the check must see them");
        using (Assert.EnterMultipleScope())
        {
            foreach (var thread in threads)
            {
                var status = File.ReadAllLines(Path.Combine(thread, "status"));
                Assert.That(Ids(status, "Uid:"), Is.All.EqualTo(_service.Uid), $"{thread} Uid");
                Assert.That(Ids(status, "Gid:"), Is.All.EqualTo(_service.Gid), $"{thread} Gid");
                Assert.That(Ids(status, "Groups:"), Is.EquivalentTo(_service.Groups), $"{thread} supplementary groups");
            }
        }
    }

    private static int[] Ids(string[] status, string key) =>
        status.Single(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..]
            .Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();

    private static long Owner(string path)
    {
        Assert.That(Syscall.stat(path, out var stat), Is.Zero, $"stat {path}");
        return stat.st_uid;
    }

    /// <summary>The service user's ids as id(1) reports them, independent of the daemon's own resolution.</summary>
    private async Task<int[]> IdAsync(string flag)
    {
        var id = StartProcess("/usr/bin/id", [flag, ServiceUser]);
        Assert.That(await id.WaitForExitAsync(Timeouts.Phase), Is.Zero, id.LastLines());
        return id.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
    }
}
