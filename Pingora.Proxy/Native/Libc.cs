using System.Runtime.InteropServices;

namespace Pingora.Proxy.Native;

/// <summary>
/// The few libc calls Mono.Posix does not cover, or covers only through its native helper where a direct call is
/// simpler. Each returns -1 and sets errno on failure, as libc does.
/// </summary>
internal static partial class Libc
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGTERM = 15, SIGSTOP = 19;
    private const int F_GETFD = 1, F_DUPFD_CLOEXEC = 1030;
    private static readonly IntPtr SIG_DFL = IntPtr.Zero;

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static partial IntPtr Signal(int signum, IntPtr handler);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "raise", SetLastError = true)]
    public static partial int Raise(int signal);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    /// <summary>A new descriptor for the same open socket, above stdio, close-on-exec.</summary>
    public static int DupCloseOnExec(int fd)
    {
        var dup = Fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup < 0) throw new IOException($"fcntl(F_DUPFD_CLOEXEC) on fd {fd}: {LastError()}");
        return dup;
    }

    public static bool IsOpen(int fd) => Fcntl(fd, F_GETFD, 0) >= 0;

    /// <summary>
    /// Signals inherited as ignored (nohup, a shell's background '&amp;') are never delivered to
    /// PosixSignalRegistration, so the daemon would silently miss SIGQUIT (upgrade) and SIGINT. Restore the defaults
    /// before anything registers handlers.
    /// </summary>
    public static void ResetInheritedSignalDispositions()
    {
        Signal(SIGQUIT, SIG_DFL);
        Signal(SIGINT, SIG_DFL);
        Signal(SIGHUP, SIG_DFL);
        Signal(SIGTERM, SIG_DFL);
    }

    public static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
