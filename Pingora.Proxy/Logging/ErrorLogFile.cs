using Microsoft.Win32.SafeHandles;
using Pingora.Proxy.Files;
using Serilog;
using Serilog.Formatting;

namespace Pingora.Proxy.Logging;

/// <summary>The error_log file as a Serilog.Sinks.File sink, opened safely (see <see cref="SafeFile"/>).</summary>
internal static class ErrorLogFile
{
    /// <param name="owner">The service user, when the process drops to one: the file is given to it by descriptor.</param>
    public static LoggerConfiguration WriteTo(LoggerConfiguration config, string path, ITextFormatter format, (uint Uid, uint Gid)? owner)
    {
        using var vetted = WriteTo(config, path, format, owner, out _);
        return config;
    }

    /// <summary>As above, and hands back the checked descriptor the sink opened its file through (the caller
    /// disposes it) and the file's identity.</summary>
    public static SafeFileHandle WriteTo(LoggerConfiguration config, string path, ITextFormatter format, (uint Uid, uint Gid)? owner,
        out (ulong Device, ulong Inode) identity)
    {
        // Serilog opens by name. Handing it /proc/self/fd/N of the descriptor opened and checked here makes it open
        // that very file again (the kernel follows the descriptor, not the name), whatever is planted at the name.
        var vetted = SafeFile.OpenAppend(path, "error_log", owner);
        try
        {
            identity = SafeFile.Identity(vetted);
            var hooks = new AppendOnlyHooks(identity);
            config.WriteTo.File(format, $"/proc/self/fd/{vetted.DangerousGetHandle()}", fileSizeLimitBytes: null, buffered: false, hooks: hooks);
            if (hooks.Failure is { } failure) throw new IOException($"error_log {path}: {failure}");
            return vetted;
        }
        catch
        {
            vetted.Dispose();
            throw;
        }
    }
}
