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
        // Serilog opens by name. Handing it /proc/self/fd/N of the descriptor opened and checked here makes it open
        // that very file again (the kernel follows the descriptor, not the name), whatever is planted at the name.
        using var vetted = SafeFile.OpenAppend(path, "error_log", owner);
        var hooks = new AppendOnlyHooks(SafeFile.Identity(vetted));
        config.WriteTo.File(format, $"/proc/self/fd/{vetted.DangerousGetHandle()}", fileSizeLimitBytes: null, buffered: false, hooks: hooks);
        if (hooks.Failure is { } failure) throw new IOException($"error_log {path}: {failure}");
        return config;
    }
}
