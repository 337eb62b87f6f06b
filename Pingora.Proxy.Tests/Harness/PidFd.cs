using Mono.Unix.Native;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// The exit of a process that is not the test's child (a daemon that detached from its launcher) as an awaitable
/// event: a pidfd becomes readable when the process exits, whoever its parent is, and unlike a pid it can never come to
/// name another process.
/// </summary>
public static class PidFd
{
    /// <summary>Completes when <paramref name="pid"/> has exited (at once if there is no such process).</summary>
    public static Task WhenExited(int pid)
    {
        var fd = Libc.pidfd_open(pid, 0);
        if (fd < 0)
        {
            var errno = Stdlib.GetLastError();
            return errno == Errno.ESRCH ? Task.CompletedTask
                : Task.FromException(new InvalidOperationException($"pidfd_open({pid}) failed: {errno}"));
        }
        // One blocked thread per watched process; it ends when the process does, and teardown kills every one.
        return Task.Factory.StartNew(() => WaitReadable(fd), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static void WaitReadable(int fd)
    {
        try
        {
            var poll = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
            while (Syscall.poll(poll, 1, -1) < 0)
            {
                var errno = Stdlib.GetLastError();
                if (errno != Errno.EINTR) throw new InvalidOperationException($"poll(pidfd) failed: {errno}");
            }
        }
        finally
        {
            Syscall.close(fd);
        }
    }
}
