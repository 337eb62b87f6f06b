using System.Net;
using System.Globalization;
using System.Net.Http;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Base fixture of the end-to-end tests: a fresh directory per test for the config, pid file, upgrade socket and
/// logs; every process, backend, load client and HTTP client a test starts is tracked and torn down afterwards, even
/// when the test failed (processes with SIGKILL). On failure the processes' last lines are written to the test
/// output and the directory is kept for inspection.
/// </summary>
public abstract partial class PingoraTestBase
{
    private readonly List<PingoraProcess> _processes = [];
    private readonly List<LoadClient> _loads = [];
    private readonly List<TestBackend> _backends = [];
    private readonly List<IDisposable> _disposables = [];

    protected string TempDir { get; private set; } = "";

    [SetUp]
    public void CreateTestDirectory()
    {
        // Short on purpose: upgrade_sock lives here and sun_path holds at most 107 bytes.
        TempDir = Path.Combine(Path.GetTempPath(), "pingora-e2e", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(TempDir);
        Assert.That(Path.Combine(TempDir, "upgrade.sock").Length, Is.LessThan(100),
            $"temp directory {TempDir} is too long for a Unix socket path; set TMPDIR to a shorter directory");
    }

    [TearDown]
    public async Task TearDownTrackedResourcesAsync()
    {
        var failed = TestContext.CurrentContext.Result.Outcome.Status != TestStatus.Passed;
        var errors = new List<Exception>();

        foreach (var load in _loads)
        {
            await Try(errors, async () =>
            {
                var final = await load.StopAsync();
                if (failed) await TestContext.Out.WriteLineAsync(final.Summary());
            });
        }
        foreach (var process in _processes)
        {
            if (failed) await TestContext.Out.WriteLineAsync(process.LastLines(100));
            await Try(errors, async () => await process.DisposeAsync());
            if (Signals.Exists(process.Pid) && Signals.ProcessState(process.Pid) is { } state and not 'Z')
                errors.Add(new InvalidOperationException($"{process.Name} is still alive (state {state}) after teardown"));
        }
        await Try(errors, () => KillStragglersAsync(failed));
        foreach (var backend in _backends) await Try(errors, async () => await backend.DisposeAsync());
        foreach (var disposable in _disposables) await Try(errors, () => { disposable.Dispose(); return Task.CompletedTask; });
        _loads.Clear();
        _processes.Clear();
        _backends.Clear();
        _disposables.Clear();

        if (failed)
            await TestContext.Out.WriteLineAsync($"test directory kept for inspection: {TempDir}");
        else if (Directory.Exists(TempDir))
            await Try(errors, () => { Directory.Delete(TempDir, recursive: true); return Task.CompletedTask; });

        if (errors.Count > 0) throw new AggregateException("teardown failed", errors);
    }

    /// <summary>
    /// Kills whatever still runs on this test's files although the test never tracked it: a daemon that detached
    /// before the test learned its pid (its launcher failed an assertion first, say). In a passing test that is a
    /// leak, and an error.
    /// </summary>
    private async Task KillStragglersAsync(bool failed)
    {
        var stragglers = ProcessTable.WithCommandLineContaining(TempDir).Select(pid => PingoraProcess.Adopt(pid, null)).ToList();
        foreach (var straggler in stragglers)
        {
            await TestContext.Out.WriteLineAsync($"killing {straggler.Name}: still running and never tracked");
            await straggler.DisposeAsync();
        }
        if (stragglers.Count > 0 && !failed)
            throw new InvalidOperationException($"left running by the test: {string.Join(", ", stragglers.Select(s => s.Name))}");
    }

    private static async Task Try(List<Exception> errors, Func<Task> action)
    {
        try { await action(); }
        catch (Exception e) { errors.Add(e); }
    }

    protected TestConfig NewConfig(string fileName = "pingora.yaml") => new(TempDir, fileName);

    protected TestCertificate CreateCertificate(string fileName = "localhost")
    {
        var certificate = TestCertificate.Create(TempDir, fileName);
        _disposables.Add(certificate);
        return certificate;
    }

    protected async Task<TestBackend> StartBackendAsync(string name, IPAddress? address = null, int port = 0)
    {
        var backend = await TestBackend.StartAsync(name, listenAddress: address, port: port);
        _backends.Add(backend);
        return backend;
    }

    protected HttpClient NewClient(TestCertificate? pinned = null, TimeSpan? timeout = null)
    {
        var client = HttpClients.Create(pinned, timeout);
        _disposables.Add(client);
        return client;
    }

    protected LoadClient StartLoad(LoadClientOptions options)
    {
        var load = LoadClient.Start(options);
        _loads.Add(load);
        return load;
    }

    /// <summary>Starts the daemon with raw arguments.</summary>
    protected PingoraProcess StartPingora(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        string? followLogFile = null)
    {
        var process = PingoraProcess.StartDaemon(args, env, followLogFile);
        _processes.Add(process);
        return process;
    }

    /// <summary>Starts any other program (a shell script, /bin/kill) with captured output, torn down like the daemon.</summary>
    protected PingoraProcess StartProcess(string executable, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var process = PingoraProcess.Start(executable, args, env);
        _processes.Add(process);
        return process;
    }

    /// <summary>Tracks a daemon the test did not start itself (its pid read from the pid file), following the
    /// config's error_log for its lines; teardown kills it like any other.</summary>
    protected PingoraProcess AdoptDaemon(int pid, TestConfig config)
    {
        var process = PingoraProcess.Adopt(pid, config.ErrorLog);
        _processes.Add(process);
        return process;
    }

    /// <summary>Starts the daemon on the config's file (written by the caller) with <c>-c FILE</c> plus
    /// <paramref name="extraArgs"/>, following its error_log if it has one.</summary>
    protected PingoraProcess StartPingora(TestConfig config, IReadOnlyDictionary<string, string>? env = null, params string[] extraArgs) =>
        StartPingora(extraArgs.Concat(["-c", config.Path]), env, config.ErrorLog);

    /// <summary>Writes the config, starts the daemon and awaits its readiness line, phase=serving.</summary>
    protected async Task<PingoraProcess> StartServingAsync(TestConfig config, IReadOnlyDictionary<string, string>? env = null)
    {
        config.Write();
        var process = StartPingora(config, env);
        await process.WaitForPhaseAsync("serving", Timeouts.Startup);
        return process;
    }

    /// <summary>Runs the daemon to completion (-t, bad flags, ...) and returns what it printed.</summary>
    protected async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(params string[] args)
    {
        var process = StartPingora(args);
        var code = await process.WaitForExitAsync(Timeouts.Startup);
        return (code, process.Stdout, process.Stderr);
    }

    /// <summary>A load client with the standard mix (two keep-alive and two new-connection workers) against a
    /// listener, alternating the daemon's status path (to learn which pid answers) and a proxied path.</summary>
    protected LoadClient StartMixedLoad(ListenerSpec listener, params string[] paths) =>
        StartLoad(new LoadClientOptions
        {
            BaseUri = listener.BaseUri,
            PinnedCertificate = listener.Tls,
            Paths = paths.Length > 0 ? paths : ["/status", "/echo/load"],
        });

    /// <summary>Awaits a condition on the load's counters (bounded by <see cref="Timeouts.Phase"/>); on failure the
    /// message shows the load summary and the last lines of <paramref name="processes"/>.</summary>
    protected static async Task<LoadSnapshot> WaitForLoadAsync(LoadClient load, Func<LoadSnapshot, bool> condition, string what,
        params PingoraProcess[] processes)
    {
        try
        {
            return await load.WaitUntilAsync(condition, what, Timeouts.Phase);
        }
        catch (HarnessTimeoutException e)
        {
            throw new HarnessTimeoutException(e.Message + "\n" + Diagnostics(processes));
        }
    }

    /// <summary>The last lines of each process, for assertion messages.</summary>
    protected static string Diagnostics(params PingoraProcess[] processes) =>
        string.Join("\n", processes.Select(p => p.LastLines()));

    protected static void AssertNoFailures(LoadSnapshot load, params PingoraProcess[] processes)
    {
        Assert.That(load.FailureCount, Is.Zero, () => load.Summary() + "\n" + Diagnostics(processes));
        Assert.That(load.HitLimit, Is.False,
            () => "the load stopped on its own limit before the test stopped it, so it did not cover the whole " +
                  "scenario: " + load.Summary());
        Assert.That(load.SuccessesByWorker[WorkerKind.KeepAlive], Is.GreaterThan(0), () => "no keep-alive request succeeded: " + load.Summary());
        Assert.That(load.SuccessesByWorker[WorkerKind.NewConnection], Is.GreaterThan(0), () => "no new-connection request succeeded: " + load.Summary());
    }

    /// <summary>Asserts that each phase was logged, in this order.</summary>
    protected static void AssertPhaseOrder(PingoraProcess process, params string[] phases) =>
        AssertPhaseOrder(process, 0, phases);

    /// <summary>Asserts that each phase was logged, in this order, at or after line <paramref name="fromLine"/>
    /// (a retried upgrade must be judged on its own lines, not the failed attempt's).</summary>
    protected static void AssertPhaseOrder(PingoraProcess process, int fromLine, params string[] phases)
    {
        var previous = fromLine - 1;
        var previousPhase = $"line {fromLine}";
        foreach (var phase in phases)
        {
            var line = process.FindPhase(phase, fromLine);
            Assert.That(line, Is.Not.Null, () => $"{process.Name} never logged phase={phase}\n{process.LastLines()}");
            Assert.That(line!.Index, Is.GreaterThan(previous),
                () => $"{process.Name} logged phase={phase} before {previousPhase}\n{process.LastLines()}");
            previous = line.Index;
            previousPhase = "phase=" + phase;
        }
    }

    /// <summary>Asserts that the process logged phase=exit with code=N.</summary>
    protected static void AssertExitLogged(PingoraProcess process, int code)
    {
        var exit = process.FindPhase("exit");
        Assert.That(exit, Is.Not.Null, () => $"{process.Name} never logged phase=exit\n{process.LastLines()}");
        Assert.That(exit!.Text, Does.Match($@"\bcode={code}\b"), () => $"{process.Name}: exit line should carry code={code}\n{process.LastLines()}");
    }

    /// <summary>The pid in the config's pid file, failing clearly when it is missing or not a number.</summary>
    protected static int ReadPidFile(TestConfig config)
    {
        Assert.That(File.Exists(config.PidFile), Is.True, $"pid file {config.PidFile} does not exist");
        var text = File.ReadAllText(config.PidFile).Trim();
        Assert.That(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid), Is.True,
            $"pid file {config.PidFile} does not hold a pid: '{text}'");
        return pid;
    }

    protected static void AssertPidFileNames(TestConfig config, PingoraProcess expected, string when) =>
        Assert.That(ReadPidFile(config), Is.EqualTo(expected.Pid), () => $"pid file {when} should name {expected.Name}\n{expected.LastLines()}");
}
