using Mono.Unix.Native;

namespace Pingora.Proxy.Native;

// What Logging/AppendOnlyFileSink.cs still calls by its old names; that file is being replaced by Serilog.Sinks.File
// (branch logfiles), and this one goes with it. Forwarders to Mono.Posix, not P/Invokes: errno stays readable with
// Marshal.GetLastPInvokeError() because Syscall.write and Syscall.close set it (SetLastError).
internal static unsafe partial class Libc
{
    public const int EINTR = 4;

    public static nint write(int fd, byte* buffer, nuint count) => (nint)Syscall.write(fd, buffer, count);

    public static int close(int fd) => Syscall.close(fd);
}
