using System.Runtime.InteropServices;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Real POSIX signals through libc kill(2). Process.Kill only knows SIGKILL/SIGTERM; the daemon's lifecycle is driven
/// by HUP, INT, QUIT, TERM and STOP, and the tests must send exactly those.
/// </summary>
public static partial class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    private const int ESRCH = 3;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int sig);

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
            throw new InvalidOperationException($"kill({pid}, {Name(sig)}) failed with errno {errno}");
    }

    public static bool TrySend(int pid, int sig, out int errno)
    {
        if (SysKill(pid, sig) == 0)
        {
            errno = 0;
            return true;
        }
        errno = Marshal.GetLastPInvokeError();
        return false;
    }

    /// <summary>True while a process with this pid exists (a zombie counts: it still holds the pid).</summary>
    public static bool Exists(int pid) => TrySend(pid, 0, out var errno) || errno != ESRCH;

    /// <summary>The state letter from /proc/PID/stat (R, S, D, T, t, Z, ...), or null when the process is gone.</summary>
    public static char? ProcessState(int pid) => ProcStat.Read(pid)?.State;
}
