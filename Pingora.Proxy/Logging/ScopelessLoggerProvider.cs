using Microsoft.Extensions.Logging;

namespace Pingora.Proxy.Logging;

/// <summary>
/// A logger provider whose loggers open no scopes. Kestrel opens one for every connection (its id), and Serilog's
/// provider would keep each on an AsyncLocal for the connection's life: some 150 bytes per idle connection, for
/// properties the error_log's one-line format never prints. Not <see cref="ISupportExternalScope"/>, so the logger
/// factory keeps no scope stack either.
/// </summary>
public sealed class ScopelessLoggerProvider(ILoggerProvider inner) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new ScopelessLogger(inner.CreateLogger(categoryName));

    public void Dispose() => inner.Dispose();

    private sealed class ScopelessLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
