using Microsoft.Extensions.Logging;
using Pingora.Proxy.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Pingora.Proxy.Logging;

/// <summary>The daemon's one logger: the error_log file when configured, else stderr; ASP.NET Core and YARP feed it.</summary>
public static class LogSetup
{
    private const string Template = "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] pingora[{ProcessId}] {Message:l}{NewLine}{Exception}";

    /// <param name="owner">The service user, to whom error_log is given when the process will drop to it.</param>
    public static Serilog.Core.Logger Create(ServerConf server, (uint Uid, uint Gid)? owner = null) => Create(server, owner, out _);

    /// <param name="errorLog">The error_log sink, for SIGUSR1 to reopen; null when the log goes to stderr.</param>
    internal static Serilog.Core.Logger Create(ServerConf server, (uint Uid, uint Gid)? owner, out ReopenableSink? errorLog)
    {
        var level = Level(server.LogLevel);
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .Enrich.WithProperty("ProcessId", Environment.ProcessId);
        var format = new OneLineWarnings(new MessageTemplateTextFormatter(Template), traces: level <= LogEventLevel.Debug);
        errorLog = null;
        if (string.IsNullOrEmpty(server.ErrorLog))
            return config.WriteTo.Console(format, standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();
        var path = server.ErrorLog;
        errorLog = new ReopenableSink((out Serilog.Core.Logger sink, out (ulong Device, ulong Inode) identity) =>
        {
            var file = new LoggerConfiguration().MinimumLevel.Verbose();
            var vetted = ErrorLogFile.WriteTo(file, path, format, owner, out identity);
            sink = file.CreateLogger();
            return vetted;
        }, path);
        return config.WriteTo.Sink(errorLog).CreateLogger();
    }

    /// <summary>
    /// Routes ASP.NET Core and YARP logging into <paramref name="log"/>. They log every request at Information
    /// ("Proxying to ..."), useful only when debugging, so below debug they are held at Warning. Level rules (not a
    /// filter function) so that a disabled per-request log call costs one comparison.
    /// </summary>
    public static void RouteFrameworkLogs(ILoggingBuilder logging, ServerConf server, Serilog.ILogger log)
    {
        var min = ToMicrosoft(Level(server.LogLevel));
        var framework = min <= Microsoft.Extensions.Logging.LogLevel.Debug ? min : Microsoft.Extensions.Logging.LogLevel.Warning;
        logging.ClearProviders()
            .AddProvider(new ScopelessLoggerProvider(new Serilog.Extensions.Logging.SerilogLoggerProvider(log)))
            .SetMinimumLevel(min)
            .AddFilter("Microsoft", framework)
            .AddFilter("Yarp", framework)
            // Enabled at any level, the hosting logger opens a log scope for every request (and Serilog pushes it onto
            // an AsyncLocal); outside debugging it has nothing to say that another category does not.
            .AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", framework <= Microsoft.Extensions.Logging.LogLevel.Debug
                ? framework : Microsoft.Extensions.Logging.LogLevel.None);
    }

    /// <summary>log_level's names are Serilog's level names (ServerConfValidator accepts only those).</summary>
    public static LogEventLevel Level(string name) =>
        Enum.TryParse<LogEventLevel>(name, ignoreCase: true, out var level) ? level : LogEventLevel.Information;

    private static Microsoft.Extensions.Logging.LogLevel ToMicrosoft(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => Microsoft.Extensions.Logging.LogLevel.Trace,
        LogEventLevel.Debug => Microsoft.Extensions.Logging.LogLevel.Debug,
        LogEventLevel.Information => Microsoft.Extensions.Logging.LogLevel.Information,
        LogEventLevel.Warning => Microsoft.Extensions.Logging.LogLevel.Warning,
        LogEventLevel.Error => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => Microsoft.Extensions.Logging.LogLevel.Critical,
    };
}
