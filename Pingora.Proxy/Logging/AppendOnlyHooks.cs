using Mono.Unix.Native;
using Pingora.Proxy.Files;
using Serilog.Sinks.File;

namespace Pingora.Proxy.Logging;

/// <summary>
/// Makes Serilog.Sinks.File's stream safe for two writers. During an upgrade the old and the new process write to
/// error_log at the same time, each through its own open file. A FileStream in append mode does not set O_APPEND: it
/// seeks to the end once and then writes at its own offset, so each process would overwrite the other's lines.
/// Setting O_APPEND on the descriptor fixes that (on Linux a positioned write, which FileStream uses, appends on an
/// O_APPEND descriptor), and <see cref="WholeEventStream"/> makes every event one write, which the kernel appends
/// whole. The sink's shared mode is no help: its mutex is per session, and a daemon has a session of its own.
/// </summary>
internal sealed class AppendOnlyHooks((ulong Device, ulong Inode) expected) : FileLifecycleHooks
{
    /// <summary>Null until the sink opened the file, then whether the hook accepted it (the sink swallows errors).</summary>
    public string? Failure { get; private set; } = "the file sink did not open the file";

    public override Stream OnFileOpened(string path, Stream underlyingStream, System.Text.Encoding encoding)
    {
        if (underlyingStream is not FileStream file)
            return Fail(path, $"unexpected stream {underlyingStream.GetType().Name}");
        // Serilog opened the file by a name; it must be the file we vetted and not whatever that name means now.
        if (SafeFile.Identity(file.SafeFileHandle) != expected)
            return Fail(path, "the file opened is not the one checked");
        var fd = (int)file.SafeFileHandle.DangerousGetHandle();
        var flags = Syscall.fcntl(fd, FcntlCommand.F_GETFL);
        if (flags < 0 || Syscall.fcntl(fd, FcntlCommand.F_SETFL, flags | NativeConvert.FromOpenFlags(OpenFlags.O_APPEND)) < 0)
            return Fail(path, $"fcntl(O_APPEND): {Stdlib.GetLastError()}");
        Failure = null;
        return new WholeEventStream(file);
    }

    private Stream Fail(string path, string reason)
    {
        Failure = reason;
        throw new IOException($"{path}: {reason}");
    }
}
