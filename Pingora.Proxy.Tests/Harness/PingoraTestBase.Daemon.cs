using System.Globalization;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

public abstract partial class PingoraTestBase
{
    /// <summary>A config proxying everything to a new backend "A", logging to error.log in the test directory (a
    /// daemon's stderr ends at readiness, so its lines are followed there).</summary>
    protected async Task<(TestConfig Config, ListenerSpec Listener)> NewDaemonConfigAsync(bool waitForReady = true)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        config.DaemonWaitForReady = waitForReady;
        return (config, listener);
    }

    /// <summary>Starts <c>pingora -d</c> (plus <paramref name="extraArgs"/>) on the config's file, written by the
    /// caller. The launcher is the test's child; the daemon it starts is not (see <see cref="AdoptDaemon"/>).</summary>
    protected PingoraProcess StartLauncher(TestConfig config, IReadOnlyDictionary<string, string>? env = null, params string[] extraArgs) =>
        StartPingora(["-d", .. extraArgs, "-c", config.Path], env);

    /// <summary>How long a launcher may take: its daemon's start, or less when daemon_ready_timeout_seconds is shorter.</summary>
    protected static TimeSpan LauncherTimeout(TestConfig config) =>
        config.DaemonReadyTimeoutSeconds is { } ready && ready < Timeouts.Startup.TotalSeconds
            ? Timeouts.AfterConfigured(ready)
            : Timeouts.Startup;

    /// <summary><c>pingora -d</c> to a serving daemon: writes the config, awaits the launcher's exit 0 and adopts the
    /// daemon the pid file names.</summary>
    protected async Task<(PingoraProcess Launcher, PingoraProcess Daemon)> StartDaemonAsync(TestConfig config,
        IReadOnlyDictionary<string, string>? env = null, params string[] extraArgs)
    {
        config.Write();
        var launcher = StartLauncher(config, env, extraArgs);
        var code = await launcher.WaitForExitAsync(LauncherTimeout(config));
        Assert.That(code, Is.Zero, () => $"pingora -d should exit 0\n{launcher.LastLines()}");
        return (launcher, AdoptDaemon(ReadPidFile(config), config));
    }

    /// <summary>Awaits the pid file naming a pid other than <paramref name="previous"/> (any pid when null). A file
    /// gives no event to await, so this is a bounded poll.</summary>
    protected static async Task<int> WaitForPidFileAsync(TestConfig config, int? previous, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (TryReadPid(config.PidFile) is { } pid && pid != previous) return pid;
            if (DateTime.UtcNow >= deadline)
            {
                throw new HarnessTimeoutException($"timed out after {timeout.TotalSeconds:F1}s waiting for {config.PidFile} " +
                                                  $"to name a pid{(previous is null ? "" : $" other than {previous}")}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Asserts that no process runs on this test's files: every pingora the test caused is gone.</summary>
    protected void AssertNothingRunning(string when)
    {
        var running = ProcessTable.WithCommandLineContaining(TempDir);
        Assert.That(running, Is.Empty, () => $"{when}, still running: " + string.Join("; ", running.Select(pid =>
            $"pid {pid}: {ProcessTable.CommandLine(pid)}")));
    }

    private static int? TryReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
