using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Real POSIX signals through kill(2) (Mono.Posix, as the daemon sends them). Process.Kill only knows SIGKILL/SIGTERM;
/// the daemon's lifecycle is driven by HUP, INT, QUIT, TERM and STOP, and the tests must send exactly those.
/// </summary>
public static class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    public static string Name(int sig) => sig switch
    {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        SIGKILL => "SIGKILL",
        SIGUSR1 => "SIGUSR1",
        SIGTERM => "SIGTERM",
        SIGCONT => "SIGCONT",
        SIGSTOP => "SIGSTOP",
        _ => $"signal {sig}",
    };

    /// <summary>Sends <paramref name="sig"/> to <paramref name="pid"/>; throws with errno when the kernel refuses.</summary>
    public static void Send(int pid, int sig)
    {
        if (!TrySend(pid, sig, out var errno))
            throw new InvalidOperationException($"kill({pid}, {Name(sig)}) failed: {errno}");
    }

    public static bool TrySend(int pid, int sig, out Errno errno)
    {
        if (Syscall.kill(pid, NativeConvert.ToSignum(sig)) == 0)
        {
            errno = 0;
            return true;
        }
        errno = Stdlib.GetLastError();
        return false;
    }

    /// <summary>True while a process with this pid exists (a zombie counts: it still holds the pid).</summary>
    public static bool Exists(int pid) => TrySend(pid, 0, out var errno) || errno != Errno.ESRCH;

    /// <summary>The state letter from /proc/PID/stat (R, S, D, T, t, Z, ...), or null when the process is gone.</summary>
    public static char? ProcessState(int pid) => ProcStat.Read(pid)?.State;
}
