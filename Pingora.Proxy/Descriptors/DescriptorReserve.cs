using Mono.Unix.Native;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Descriptors;

/// <summary>
/// A few descriptors held open on /dev/null for the moment the process runs out. The runtime needs descriptors of
/// its own to go on working (measured: starting a thread, such as the timer thread or a new thread-pool worker,
/// fails with OutOfMemoryException under EMFILE, and one that fails in the thread pool aborts the process), and the
/// connections already accepted need upstream sockets. When an accept fails with EMFILE these are closed, which
/// gives exactly that room back, and accepting resumes only once they could all be opened again.
/// </summary>
public sealed class DescriptorReserve : IDisposable
{
    /// <summary>Enough for a few thread starts, an upstream connect or two and a log file reopen at once.</summary>
    public const int DefaultSize = 16;

    private readonly Lock _gate = new();
    private readonly Stack<int> _held = new();

    public DescriptorReserve(int size = DefaultSize)
    {
        Size = size;
        TryFill();
    }

    public int Size { get; }

    public int Held
    {
        get { lock (_gate) return _held.Count; }
    }

    /// <summary>Opens descriptors until <see cref="Size"/> are held; true when they are.</summary>
    public bool TryFill()
    {
        lock (_gate)
        {
            while (_held.Count < Size)
            {
                var fd = Syscall.open("/dev/null", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
                if (fd < 0) return false;
                _held.Push(fd);
            }
            return true;
        }
    }

    /// <summary>
    /// Whether <paramref name="count"/> more descriptors are free beyond the reserve: opens and closes them at once.
    /// Resuming with the reserve held but nothing free beyond it would only fail the next accept again.
    /// </summary>
    public static bool HasRoomFor(int count)
    {
        var probes = new List<int>(count);
        try
        {
            while (probes.Count < count)
            {
                var fd = Syscall.open("/dev/null", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
                if (fd < 0) return false;
                probes.Add(fd);
            }
            return true;
        }
        finally
        {
            foreach (var fd in probes) Syscall.close(fd);
        }
    }

    /// <summary>The number the next new descriptor would get (the lowest free one), or -1 when none is free.</summary>
    public static int LowestFree(int anyOpenFd)
    {
        var probe = Libc.fcntl(anyOpenFd, Libc.F_DUPFD_CLOEXEC, 0);
        if (probe >= 0) Libc.close(probe);
        return probe;
    }

    /// <summary>Closes every held descriptor, for the rest of the process to use.</summary>
    public void Release()
    {
        lock (_gate)
        {
            while (_held.TryPop(out var fd)) Syscall.close(fd);
        }
    }

    public void Dispose() => Release();
}
