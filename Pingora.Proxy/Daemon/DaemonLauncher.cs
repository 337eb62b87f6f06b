using System.Diagnostics;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Daemon;

/// <summary>
/// The foreground side of <c>-d</c>: start this binary again as the daemon (the CLR cannot fork), relay its stderr
/// while it starts, and exit with the outcome. With daemon_wait_for_ready that is 0 once the daemon reports ready
/// (SIGUSR1), or non-zero when it exits first or is not ready in time; systemd (Type=forking) reads the pid file
/// only after this exits, so it must not exit before the daemon has written it.
/// </summary>
public static class DaemonLauncher
{
    /// <summary>How long, once the daemon is ready, to wait for the rest of its stderr (it closes the pipe as it
    /// signals, so this normally takes no time).</summary>
    private static readonly TimeSpan RelayFlushTimeout = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, ServerConf server, ServiceIdentity? identity)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var readySignal = PosixSignalRegistration.Create(ProcessSignals.Posix(Signum.SIGUSR1), context =>
        {
            context.Cancel = true;
            ready.TrySetResult();
        });

        // stdin and stdout are pipes this process closes at once rather than our own: the runtime in the daemon
        // duplicates them before its Main runs, and a daemon inheriting our stdout would hold it open for its whole
        // life (`$(pingora -d)` would never return).
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment[DaemonChild.LauncherVariable] = Environment.ProcessId.ToString();
        using var daemon = Process.Start(start) ?? throw new IOException($"cannot start {Environment.ProcessPath}");
        daemon.StandardInput.Close();
        daemon.StandardOutput.Close();
        var relay = RelayAsync(daemon.StandardError);
        if (!server.DaemonWaitForReady) return 0;

        // The daemon drops to `user` before it is ready, and an unprivileged process may signal only processes whose
        // real uid is its own. Take that real uid, keeping the effective root needed to stop the daemon on timeout.
        if (identity is not null && ServiceIdentity.IsRoot && Syscall.setresuid(identity.Uid, uint.MaxValue, uint.MaxValue) != 0)
            Console.Error.WriteLine($"pingora: setresuid({identity.Uid}): {Stdlib.GetLastError()}; the daemon may not be able to report ready");

        var exited = daemon.WaitForExitAsync();
        var timeout = TimeSpan.FromSeconds(server.DaemonReadyTimeoutSeconds);
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(timeout));
        if (first == ready.Task)
        {
            await Task.WhenAny(relay, Task.Delay(RelayFlushTimeout));
            return 0;
        }
        if (first == exited)
        {
            await Task.WhenAny(relay, Task.Delay(RelayFlushTimeout));
            Console.Error.WriteLine($"pingora: the daemon (pid {daemon.Id}) exited with code {daemon.ExitCode} before it was ready");
            RemoveStalePidFile(server, daemon.Id);
            return daemon.ExitCode == 0 ? 1 : daemon.ExitCode;
        }
        Console.Error.WriteLine($"pingora: the daemon (pid {daemon.Id}) was not ready within {timeout.TotalSeconds:0.###} s " +
                                "(daemon_ready_timeout_seconds); stopping it");
        daemon.Kill(entireProcessTree: true);
        await daemon.WaitForExitAsync();
        RemoveStalePidFile(server, daemon.Id);
        return 1;
    }

    /// <summary>
    /// The daemon writes the pid file before it tells us it is ready; one that died or was stopped in between (a
    /// crash, a kill) leaves a file naming a dead process, which would mislead systemd and `kill $(cat ...)`.
    /// </summary>
    private static void RemoveStalePidFile(ServerConf server, int daemonPid)
    {
        var pidFile = new PidFile(server.PidFile);
        try
        {
            if (pidFile.Read() == daemonPid) pidFile.Remove();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pingora: cannot remove the stale pid file {server.PidFile}: {e.Message}");
        }
    }

    private static async Task RelayAsync(StreamReader daemonStderr)
    {
        while (await daemonStderr.ReadLineAsync() is { } line) await Console.Error.WriteLineAsync(line);
    }
}
