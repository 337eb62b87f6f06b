using System.Runtime.InteropServices;

namespace Pingora.Proxy.Native;

/// <summary>
/// The libc calls the daemon makes directly rather than through Mono.Posix: the msghdr/cmsghdr layout
/// is fixed on linux-x64, flags and errno stay the kernel's own numbers (Mono.Posix translates both through its
/// helper library), and errno is read exactly once with <see cref="Marshal.GetLastPInvokeError"/>.
/// Layouts and constants are those of Linux on x86-64 (LP64), the only platform this daemon targets.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;

    public const int MSG_CTRUNC = 0x8;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    public const int EPERM = 1;
    public const int EINTR = 4;
    public const int EAGAIN = 11; // == EWOULDBLOCK on Linux
    public const int ECONNRESET = 104;

    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;

    public const int F_GETFD = 1;
    public const int F_GETFL = 3;
    public const int FD_CLOEXEC = 1;
    public const int O_ACCMODE = 3;
    public const int O_CLOEXEC = 0x80000;
    public const int F_DUPFD_CLOEXEC = 1030;

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    // Sequential layout inserts the same 4 bytes of padding after NameLength and after Flags that the C compiler does.
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    public static int CmsgAlign(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);
    public static int CmsgSpace(int dataLength) => CmsgAlign(sizeof(CmsgHdr)) + CmsgAlign(dataLength);
    public static int CmsgLen(int dataLength) => CmsgAlign(sizeof(CmsgHdr)) + dataLength;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendmsg(int sockfd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int sockfd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    // fcntl is variadic in C; every command used here takes an int (or nothing), which the x86-64 ABI passes in the
    // same register either way.
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup3(int oldfd, int newfd, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Lib)]
    public static partial uint getuid();

    [LibraryImport(Lib)]
    public static partial uint getgid();

    /// <summary>"call: errno text (errno N)", the form every native failure in the handoff is reported in.</summary>
    public static NativeCallException Error(string call, int errno) =>
        new NativeCallException(call, errno);

    /// <summary>
    /// Closes fds this process owns and no longer wants. Never retried on EINTR: Linux releases the fd number even
    /// when close reports EINTR, and a retry could close an fd another thread has just been given.
    /// </summary>
    public static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (var fd in fds)
            if (fd >= 0) close(fd);
    }
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGUSR1 = 10, SIGTERM = 15, SIGSTOP = 19;
    private static readonly IntPtr SIG_DFL = IntPtr.Zero;

    [LibraryImport(Lib, EntryPoint = "signal", SetLastError = true)]
    private static partial IntPtr Signal(int signum, IntPtr handler);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "raise", SetLastError = true)]
    public static partial int Raise(int signal);

    /// <summary>A new descriptor for the same open socket, above stdio, close-on-exec.</summary>
    public static int DupCloseOnExec(int fd)
    {
        var dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup < 0) throw Error("fcntl(F_DUPFD_CLOEXEC)", Marshal.GetLastPInvokeError());
        return dup;
    }

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

    /// <summary>
    /// Test hook: stops this process (SIGSTOP) at <paramref name="point"/> when PINGORA_TEST_STOP_AT names it, so a
    /// test can act on a process frozen at an exact step (a successor that got the fds, a daemon never ready).
    /// </summary>
    public static void StopIfTestAsks(string point)
    {
        if (Environment.GetEnvironmentVariable("PINGORA_TEST_STOP_AT") == point) Raise(SIGSTOP);
    }
}
