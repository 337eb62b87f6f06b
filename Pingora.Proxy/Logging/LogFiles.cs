using Pingora.Proxy.AccessLog;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Logging;

/// <summary>
/// The files the daemon logs to, error_log and access_log, opened at the start (as root, then given to the service
/// user) and reopened by path on SIGUSR1, the logrotate convention (nginx's <c>-s reopen</c>).
/// </summary>
public sealed class LogFiles : IAsyncDisposable
{
    private readonly ReopenableSink? _errorLog;

    private LogFiles(Serilog.Core.Logger logger, ReopenableSink? errorLog, AccessLogBuffer? accessLog)
    {
        Logger = logger;
        _errorLog = errorLog;
        AccessLog = accessLog;
    }

    public Serilog.Core.Logger Logger { get; }

    /// <summary>Null when access_log is not set.</summary>
    public AccessLogBuffer? AccessLog { get; }

    /// <summary>Opens both; an IOException names the key and the path.</summary>
    public static LogFiles Open(ServerConf server, (uint Uid, uint Gid)? owner)
    {
        var logger = LogSetup.Create(server, owner, out var errorLog);
        try
        {
            var accessLog = server.AccessLog is { } path ? OpenAccessLog(server, path, owner, logger) : null;
            return new LogFiles(logger, errorLog, accessLog);
        }
        catch
        {
            logger.Dispose();
            throw;
        }
    }

    private static AccessLogBuffer OpenAccessLog(ServerConf server, string path, (uint Uid, uint Gid)? owner, Serilog.ILogger logger)
    {
        var file = AccessLogFile.Open(path, owner);
        return new AccessLogBuffer(file, server.AccessLogBufferBytes, TimeSpan.FromSeconds(server.AccessLogFlushSeconds),
            TimeProvider.System, e => logger.Error("access_log {Path}: cannot write ({Failed} lines lost so far): {Reason}", path, file.Failed, e.Message));
    }

    /// <summary>SIGUSR1. A file that cannot be opened again is logged and the process keeps writing to the old one.</summary>
    public void Reopen()
    {
        Reopen("error_log", _errorLog is null ? null : () =>
        {
            if (_errorLog.Reopen() is { } stdio) Logger.Warning("SIGUSR1: error_log reopened, but {Problem}", stdio);
        });
        Reopen("access_log", AccessLog is null ? null : AccessLog.Reopen);
        Logger.Information("SIGUSR1: log files reopened (error_log {ErrorLog}, access_log {AccessLog})",
            _errorLog is null ? "stderr" : "reopened", AccessLog?.File.Path ?? "off");
        StderrProbe.WriteIfTestAsks("logs-reopened");
    }

    private void Reopen(string key, Action? reopen)
    {
        try
        {
            reopen?.Invoke();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Logger.Error("SIGUSR1: cannot reopen {Key}, still writing to the file open before: {Reason}", key, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        AccessLog?.Dispose();
        await Logger.DisposeAsync();
    }
}
