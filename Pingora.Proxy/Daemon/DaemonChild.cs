using Mono.Unix.Native;
using Pingora.Proxy.Configuration;
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
        Redirect("/dev/null", 0, OpenFlags.O_RDONLY);
        Redirect("/dev/null", 1, OpenFlags.O_WRONLY);
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
        // The launcher may not yet have switched its real uid to ours when we, already unprivileged, signal it:
        // EPERM until it has (see DaemonLauncher), so retry for daemon_notify_timeout_seconds.
        var deadline = DateTime.UtcNow.AddSeconds(server.DaemonNotifyTimeoutSeconds);
        while (Libc.Kill(LauncherPid, Libc.SIGUSR1) != 0)
        {
            var error = Libc.LastError();
            if (Stdlib.GetLastError() != Errno.EPERM || DateTime.UtcNow >= deadline)
            {
                log.Warning("could not tell the launcher (pid {Pid}) that the daemon is ready: {Error}", LauncherPid, error);
                return;
            }
            Thread.Sleep(20);
        }
    }

    private static void RedirectStderr(ServerConf server) =>
        Redirect(server.ErrorLog ?? "/dev/null", 2, OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_CREAT);

    private static void Redirect(string path, int target, OpenFlags flags)
    {
        var fd = Syscall.open(path, flags | OpenFlags.O_CLOEXEC, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR | FilePermissions.S_IRGRP);
        if (fd < 0) throw new IOException($"cannot open {path}: {Stdlib.GetLastError()}");
        // dup2 clears close-on-exec on the target, as stdio should be.
        if (Syscall.dup2(fd, target) < 0) throw new IOException($"dup2 {path}: {Stdlib.GetLastError()}");
        Syscall.close(fd);
    }
}
