using System.Runtime.InteropServices;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Leaves a dead Unix socket file behind, as a crashed process does: bound, then closed without unlink. It has to be
/// raw libc: disposing a .NET Socket bound to a path deletes the path (PLATFORM.md), which is the opposite of stale.
/// </summary>
public static unsafe partial class UnixSocketFile
{
    private const int AF_UNIX = 1;
    private const int SOCK_STREAM = 1;
    private const int SunPathLength = 108;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrUn
    {
        public ushort Family;
        public fixed byte Path[SunPathLength];
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int fd, SockaddrUn* address, uint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    public static void CreateDead(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= SunPathLength) throw new ArgumentException($"socket path too long for sun_path: {path}");
        var fd = Socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) throw new InvalidOperationException($"socket(AF_UNIX) failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var address = new SockaddrUn { Family = AF_UNIX };
            for (var i = 0; i < bytes.Length; i++) address.Path[i] = bytes[i];
            var length = (uint)(sizeof(ushort) + bytes.Length + 1);
            if (Bind(fd, &address, length) != 0)
                throw new InvalidOperationException($"bind({path}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Close(fd);
        }
    }
}
