using Mono.Unix.Native;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Files;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Daemon;

/// <summary>
/// The daemon's side of <c>-d</c>. The CLR cannot fork, so the launcher re-executes this binary with the launcher's
/// pid in an environment variable; that process detaches itself here and tells the launcher when it is ready.
/// </summary>
public sealed class DaemonChild
{
    public const string LauncherVariable = "PINGORA_DAEMON_LAUNCHER";

    private DaemonChild(int launcherPid) => LauncherPid = launcherPid;

    public int LauncherPid { get; }

    /// <summary>This process, if a launcher started it as the daemon. Clears the marker so nothing inherits it.</summary>
    public static DaemonChild? FromEnvironment()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(LauncherVariable), out var pid)) return null;
        Environment.SetEnvironmentVariable(LauncherVariable, null);
        return new DaemonChild(pid);
    }

    /// <summary>
    /// A new session (no controlling terminal, unaffected by the launcher's exit or its terminal's hangup), the
    /// working directory, a umask that keeps written files from being world-writable, and stdin/stdout on /dev/null.
    /// Stderr stays the launcher's pipe until ready, so the launcher can show why a start failed.
    /// </summary>
    public void Detach(ServerConf server)
    {
        if (Syscall.setsid() < 0) throw new IOException($"setsid: {Stdlib.GetLastError()}");
        var directory = server.WorkingDirectory ?? "/";
        try
        {
            Directory.SetCurrentDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"working_directory {directory}: {e.Message}", e);
        }
        Syscall.umask(FilePermissions.S_IWGRP | FilePermissions.S_IWOTH);
        StdioRedirect.To("/dev/null", 0, OpenFlags.O_RDONLY);
        StdioRedirect.To("/dev/null", 1, OpenFlags.O_WRONLY);
        if (!server.DaemonWaitForReady) RedirectStderr(server); // the launcher is not listening
    }

    /// <summary>
    /// Moves stderr off the launcher's pipe (to error_log, where a runtime crash message is then found, else to
    /// /dev/null), and, with daemon_wait_for_ready, sends the launcher SIGUSR1.
    /// </summary>
    public void NotifyReady(ServerConf server, Serilog.ILogger log)
    {
        if (!server.DaemonWaitForReady) return;
        RedirectStderr(server);
        ProcessSignals.StopIfTestAsks("daemon-notify"); // a daemon that never becomes ready
        // The launcher may not yet have switched its real uid to ours when we, already unprivileged, signal it:
        // EPERM until it has (see DaemonLauncher), so retry for daemon_notify_timeout_seconds. Only while it is still
        // our parent: once it is gone (it gave up), its pid may belong to an unrelated process.
        var deadline = DateTime.UtcNow.AddSeconds(server.DaemonNotifyTimeoutSeconds);
        while (true)
        {
            if (Syscall.getppid() != LauncherPid)
            {
                log.Warning("the launcher (pid {Pid}) is gone: nobody waits for this daemon to be ready", LauncherPid);
                return;
            }
            if (Syscall.kill(LauncherPid, Signum.SIGUSR1) == 0) return;
            var errno = Stdlib.GetLastError();
            if (errno != Errno.EPERM || DateTime.UtcNow >= deadline)
            {
                log.Warning("could not tell the launcher (pid {Pid}) that the daemon is ready: {Error}",
                    LauncherPid, Stdlib.strerror(errno));
                return;
            }
            Thread.Sleep(20);
        }
    }

    /// <summary>Also closes the launcher's pipe in this process, which is how the launcher knows it has relayed all.</summary>
    private static void RedirectStderr(ServerConf server)
    {
        if (server.ErrorLog is null)
        {
            StdioRedirect.To("/dev/null", 2, OpenFlags.O_WRONLY);
            return;
        }
        using var log = SafeFile.OpenAppend(server.ErrorLog, "error_log");
        StdioRedirect.To(log, 2, server.ErrorLog);
    }
}
