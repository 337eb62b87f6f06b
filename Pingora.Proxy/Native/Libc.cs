using System.Runtime.InteropServices;

namespace Pingora.Proxy.Native;

/// <summary>
/// The only P/Invoke declarations in the daemon and its tests: what Mono.Posix (Mono.Unix.Native.Syscall and Stdlib,
/// used for every other call) lacks or cannot express. Values are those of Linux on x86-64, the only target.
/// </summary>
internal static partial class Libc
{
    private const string Lib = "libc";

    // Socket.Get/SetRawSocketOption take the kernel's numbers, not Mono.Posix's enums (its SOL_SOCKET is 0x800).
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_PEERCRED = 17;

    // Mono.Posix's FcntlCommand has no F_DUPFD_CLOEXEC, and it has no names for the bits fcntl(F_GETFD/F_GETFL) returns.
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int FD_CLOEXEC = 1;
    public const int O_ACCMODE = 3;
    public const int O_CLOEXEC = 0x80000;

    private const long SYS_pidfd_open = 434;

    // Mono.Posix's fcntl maps the command through its FcntlCommand enum, which lacks F_DUPFD_CLOEXEC. fcntl is variadic
    // in C; an int argument travels in the same register either way on x86-64.
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    // Mono.Posix has dup2 only, which cannot make the new descriptor close-on-exec atomically.
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup3(int oldfd, int newfd, int flags);

    // Mono.Posix predates pidfds (Linux 5.3); the raw syscall needs no glibc wrapper (glibc has one only since 2.36).
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial int syscall(long number, int pid, uint flags);

    /// <summary>An fd that becomes readable when <paramref name="pid"/> exits, whoever its parent is; -1 and errno on failure.</summary>
    public static int pidfd_open(int pid, uint flags) => syscall(SYS_pidfd_open, pid, flags);
}
