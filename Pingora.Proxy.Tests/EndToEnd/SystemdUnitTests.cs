using System.Globalization;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The shipped <c>pingora.service</c>, run the way systemd runs a Type=forking unit: ExecStartPre, ExecStart until it
/// exits, PIDFile read; every ExecReload= line in order, each to completion, under continuous load; the main process's
/// exit, PIDFile read again; then KillSignal. The commands are parsed from the file, never copied, so the test follows
/// the unit. (systemd itself is not PID 1 on the test machines, and the unit's User= does not exist there: the
/// commands run as the test's user.)
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class SystemdUnitTests : PingoraTestBase
{
    private const string Service = "Service";
    private const string InstalledBinary = "/usr/local/bin/pingora";
    private const string InstalledConfig = "/etc/pingora.conf";
    private const int AnswersPerStep = 50;

    private static string UnitPath => Path.Combine(RepoPaths.RepoRoot, "pingora.service");

    /// <summary>The unit started as systemd starts it: ExecStartPre, ExecStart to completion, PIDFile read.</summary>
    private sealed record StartedUnit(SystemdUnit Unit, TestConfig Config, ListenerSpec Listener, Dictionary<string, string> Paths,
        Dictionary<string, string> Environment, PingoraProcess Main)
    {
        /// <summary>Paths with $MAINPID as systemd expands it in ExecReload= lines.</summary>
        public Dictionary<string, string> WithMainPid() =>
            new(Paths) { ["$MAINPID"] = Main.Pid.ToString(), ["${MAINPID}"] = Main.Pid.ToString() };
    }

    private async Task<StartedUnit> StartUnitAsync(Action<TestConfig>? adjust = null)
    {
        var unit = SystemdUnit.Load(UnitPath);
        Assert.That(unit.Single(Service, "Type"), Is.EqualTo("forking"), "this test plays systemd's part for Type=forking");
        var paths = MapPaths(unit);
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        // As deploy/install.sh adapts the example for the service: everything under the unit's own directories.
        config.PidFile = Map(paths, unit.Single(Service, "PIDFile"));
        config.UpgradeSock = Map(paths, "/run/pingora/upgrade.sock");
        config.ErrorLog = Map(paths, "/var/log/pingora/error.log");
        config.DaemonWaitForReady = true;
        adjust?.Invoke(config);
        paths[InstalledConfig] = config.Write();
        var environment = unit.Values(Service, "Environment")
            .SelectMany(line => SystemdUnit.SplitEnvironment(line))
            .ToDictionary(kv => kv.Key, kv => Map(paths, kv.Value));

        foreach (var line in unit.Values(Service, "ExecStartPre")) await RunAsync(line, paths, environment, "ExecStartPre");
        await RunAsync(unit.Single(Service, "ExecStart"), paths, environment, "ExecStart");
        var main = AdoptDaemon(ReadPidFile(config), config);
        await main.WaitForPhaseAsync("serving", Timeouts.Phase);
        return new StartedUnit(unit, config, listener, paths, environment, main);
    }

    [Test]
    public async Task Start_reload_under_load_and_stop_as_systemd_runs_the_unit_drop_no_request()
    {
        var started = await StartUnitAsync();
        var (unit, config, listener, _, environment, main) = started;
        var load = StartMixedLoad(listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(main.Pid) >= AnswersPerStep, "answers from the first main process", main);

        var reloads = unit.Values(Service, "ExecReload");
        Assert.That(reloads, Is.Not.Empty, "the unit must define ExecReload=");
        foreach (var line in reloads) await RunAsync(line, started.WithMainPid(), environment, "ExecReload");

        // systemd re-reads PIDFile when the main process exits: by then it must name the new daemon.
        await main.WaitForGoneAsync(Timeouts.AfterConfigured(config.CloseTimeoutSeconds + config.GracePeriodSeconds));
        AssertExitLogged(main, 0);
        var newMainPid = ReadPidFile(config);
        Assert.That(newMainPid, Is.Not.EqualTo(main.Pid), "after the reload the pid file names another process");
        var newMain = AdoptDaemon(newMainPid, config);
        Assert.That(Signals.Exists(newMain.Pid), Is.True, "the pid file names a live process");
        await newMain.WaitForPhaseAsync("upgrade-committed", Timeouts.Phase);
        await WaitForLoadAsync(load, s => s.AnsweredBy(newMain.Pid) >= AnswersPerStep, "answers from the new main process", main, newMain);

        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync("load through the reload: " + result.Summary());
        AssertNoFailures(result, main, newMain);
        Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { main.Pid, newMain.Pid }), result.Summary());

        // systemctl stop: KillSignal= to the main process, then wait up to TimeoutStopSec=.
        newMain.Signal(KillSignal(unit));
        await newMain.WaitForGoneAsync(TimeSpan.FromSeconds(double.Parse(unit.Optional(Service, "TimeoutStopSec") ?? "90", CultureInfo.InvariantCulture)));
        AssertPhaseOrder(newMain, "serving", "stop-accepting", "drain", "drained", "exit");
        AssertExitLogged(newMain, 0);
        Assert.That(File.Exists(config.PidFile), Is.False, "a clean stop removes the pid file");
        AssertNothingRunning("after the stop");
    }

    /// <summary>
    /// `systemctl reload` whose new daemon is killed right after it commits (it stops itself there, the test kills
    /// it): the old main process takes everything back, so the unit stays active with its main pid, the pid file
    /// names it whenever systemd reads it, and no request fails; `systemctl stop` then stops it as usual.
    /// </summary>
    [Test]
    public async Task A_reload_whose_new_daemon_dies_after_the_commit_leaves_the_unit_active_with_the_old_main_pid()
    {
        var started = await StartUnitAsync(c => c.CloseTimeoutSeconds = 3);
        var (unit, config, listener, _, environment, main) = started;
        var reloadEnvironment = new Dictionary<string, string>(environment) { ["PINGORA_TEST_STOP_AT"] = "upgrade-committed" };
        foreach (var line in unit.Values(Service, "ExecReload")) await RunAsync(line, started.WithMainPid(), reloadEnvironment, "ExecReload");

        var acknowledged = await main.WaitForPhaseAsync("handoff-acknowledged", Timeouts.AfterConfigured(config.UpgradeAckTimeoutSeconds));
        var doomed = AdoptDaemon(await WaitForPidFileAsync(config, main.Pid, Timeouts.Phase), config);
        await WaitUntilStoppedAsync(doomed, "upgrade-committed (PINGORA_TEST_STOP_AT)", main);
        var load = StartMixedLoad(listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(main.Pid) >= AnswersPerStep, "answers while the new daemon is stopped", main);
        doomed.Signal(Signals.SIGKILL);
        await doomed.WaitForGoneAsync(Timeouts.Phase);

        await main.WaitForPhaseAsync("upgrade-reverted", Timeouts.Phase);
        var closeTimeoutOver = acknowledged.SeenAt + TimeSpan.FromSeconds(config.CloseTimeoutSeconds + 1);
        var afterRevert = load.Snapshot().AnsweredBy(main.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(main.Pid) >= afterRevert + AnswersPerStep && DateTimeOffset.UtcNow > closeTimeoutOver,
            "answers from the old main process past close_timeout", main);
        var result = await load.StopAsync();
        AssertNoFailures(result, main, doomed);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(main.HasExited, Is.False, "the unit's main process lives on\n" + main.LastLines());
            Assert.That(main.FindPhase("stop-accepting"), Is.Null, main.LastLines());
            Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { main.Pid }), result.Summary());
        }
        AssertPidFileNames(config, main, "after the revert (systemd's PIDFile= must name the live main process)");

        main.Signal(KillSignal(unit));
        await main.WaitForGoneAsync(TimeSpan.FromSeconds(double.Parse(unit.Optional(Service, "TimeoutStopSec") ?? "90", CultureInfo.InvariantCulture)));
        AssertExitLogged(main, 0);
        Assert.That(File.Exists(config.PidFile), Is.False, "a clean stop removes the pid file");
        AssertNothingRunning("after the stop");
    }

    [Test]
    public async Task The_unit_passes_systemd_analyze_verify()
    {
        if (SystemdAnalyze is null) Assert.Ignore("systemd-analyze is not installed (apt-get install systemd)");
        // verify checks that every command exists: point them at the binary under test, keep everything else.
        var unit = Path.Combine(TempDir, "pingora.service");
        await File.WriteAllTextAsync(unit, (await File.ReadAllTextAsync(UnitPath)).Replace(InstalledBinary, RepoPaths.RequireBinary()));
        await AssertUnitVerifiesAsync(unit);
    }

    /// <summary>The directories systemd creates for the unit (RuntimeDirectory= and the like), each mapped to a
    /// directory of this test and created, plus the installed binary mapped to the binary under test.</summary>
    private Dictionary<string, string> MapPaths(SystemdUnit unit)
    {
        var paths = new Dictionary<string, string> { [InstalledBinary] = RepoPaths.RequireBinary() };
        foreach (var (key, root) in new[] { ("RuntimeDirectory", "/run"), ("CacheDirectory", "/var/cache"), ("LogsDirectory", "/var/log"), ("StateDirectory", "/var/lib") })
        {
            if (unit.Optional(Service, key) is not { } name) continue;
            var local = Path.Combine(TempDir, key.Replace("Directory", "").ToLowerInvariant());
            Directory.CreateDirectory(local);
            paths[$"{root}/{name}"] = local;
        }
        return paths;
    }

    /// <summary>A path (or command word) with a mapped prefix replaced; anything else as it is.</summary>
    private static string Map(IReadOnlyDictionary<string, string> paths, string word)
    {
        foreach (var (from, to) in paths)
        {
            if (word == from) return to;
            if (word.StartsWith(from + "/", StringComparison.Ordinal)) return to + word[from.Length..];
        }
        return word;
    }

    /// <summary>Runs one Exec*= line to completion, as systemd does before the next, and requires exit code 0
    /// (systemd fails the start or the reload otherwise).</summary>
    private async Task RunAsync(string line, IReadOnlyDictionary<string, string> paths, IReadOnlyDictionary<string, string> environment, string key)
    {
        var words = SystemdUnit.SplitCommand(line).Select(w => Map(paths, w)).ToArray();
        var process = StartProcess(words[0], words[1..], environment);
        var code = await process.WaitForExitAsync(Timeouts.Startup);
        Assert.That(code, Is.Zero, () => $"{key}={line} (run as: {string.Join(' ', words)})\n{process.LastLines()}");
    }

    private static int KillSignal(SystemdUnit unit) => (unit.Optional(Service, "KillSignal") ?? "SIGTERM") switch
    {
        "SIGTERM" => Signals.SIGTERM,
        "SIGINT" => Signals.SIGINT,
        "SIGQUIT" => Signals.SIGQUIT,
        "SIGHUP" => Signals.SIGHUP,
        var other => throw new FormatException($"KillSignal={other} is not known to this test"),
    };
}
