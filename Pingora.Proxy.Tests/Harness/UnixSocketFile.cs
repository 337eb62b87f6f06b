using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Leaves a dead Unix socket file behind, as a crashed process does: bound, then closed without unlink. It has to be
/// below .NET's Socket: disposing a .NET Socket bound to a path deletes the path (docs/platform.md, socket 8), which
/// is the opposite of stale.
/// </summary>
public static class UnixSocketFile
{
    public static void CreateDead(string path)
    {
        var fd = Syscall.socket(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_STREAM, 0);
        if (fd < 0) throw new InvalidOperationException($"socket(AF_UNIX) failed: {Stdlib.GetLastError()}");
        try
        {
            if (Syscall.bind(fd, new SockaddrUn(path)) != 0)
                throw new InvalidOperationException($"bind({path}) failed: {Stdlib.GetLastError()}");
        }
        finally
        {
            Syscall.close(fd);
        }
    }
}
