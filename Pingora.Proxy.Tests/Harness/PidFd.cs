using System.Runtime.InteropServices;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// The exit of a process that is not the test's child (a daemon that detached from its launcher) as an awaitable
/// event: a pidfd becomes readable when the process exits, whoever its parent is, and unlike a pid it can never come to
/// name another process.
/// </summary>
public static partial class PidFd
{
    private const long SYS_pidfd_open = 434; // x86-64
    private const short POLLIN = 0x1;
    private const int EINTR = 4;
    private const int ESRCH = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial int PidfdOpen(long number, int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>Completes when <paramref name="pid"/> has exited (at once if there is no such process).</summary>
    public static Task WhenExited(int pid)
    {
        var fd = PidfdOpen(SYS_pidfd_open, pid, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == ESRCH ? Task.CompletedTask
                : Task.FromException(new InvalidOperationException($"pidfd_open({pid}) failed with errno {errno}"));
        }
        // One blocked thread per watched process; it ends when the process does, and teardown kills every one.
        return Task.Factory.StartNew(() => WaitReadable(fd), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static unsafe void WaitReadable(int fd)
    {
        try
        {
            var poll = new PollFd { Fd = fd, Events = POLLIN };
            while (Poll(&poll, 1, -1) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw new InvalidOperationException($"poll(pidfd) failed with errno {errno}");
            }
        }
        finally
        {
            Close(fd);
        }
    }
}
