using Mono.Unix.Native;

namespace Pingora.Proxy.Native;

/// <summary>Descriptors this process owns: duplicating and closing them.</summary>
internal static class Fds
{
    /// <summary>A new descriptor for the same open socket or file, above stdio, close-on-exec.</summary>
    public static int DupCloseOnExec(int fd)
    {
        var dup = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, 3);
        if (dup < 0) throw new NativeCallException("fcntl(F_DUPFD_CLOEXEC)", Stdlib.GetLastError());
        return dup;
    }

    /// <summary>Whether <paramref name="fd"/> is closed in child processes (FD_CLOEXEC); false also when it is not open.</summary>
    public static bool IsCloseOnExec(int fd)
    {
        var flags = Syscall.fcntl(fd, FcntlCommand.F_GETFD);
        return flags >= 0 && (flags & Libc.FD_CLOEXEC) != 0;
    }

    /// <summary>Whether <paramref name="fd"/> names an open descriptor.</summary>
    public static bool IsOpen(int fd) => Syscall.fcntl(fd, FcntlCommand.F_GETFD) >= 0;

    /// <summary>
    /// Closes fds this process owns and no longer wants. Never retried on EINTR: Linux releases the fd number even
    /// when close reports EINTR, and a retry could close an fd another thread has just been given (docs/platform.md, socket 9).
    /// </summary>
    public static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (var fd in fds)
            if (fd >= 0) Syscall.close(fd);
    }
}
