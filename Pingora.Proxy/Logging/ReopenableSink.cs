using Serilog.Core;
using Serilog.Events;

namespace Pingora.Proxy.Logging;

/// <summary>
/// The error_log sink, which SIGUSR1 can point at the file now at its path (after logrotate renamed the old one).
/// Serilog.Sinks.File keeps its file for life, so reopening builds a new sink and swaps it in; the lock makes the
/// swap fall between two events, so none goes to a sink already disposed.
/// </summary>
internal sealed class ReopenableSink(Func<Logger> open) : ILogEventSink, IDisposable
{
    private readonly Lock _gate = new();
    private Logger _current = open();

    public void Emit(LogEvent logEvent)
    {
        lock (_gate) _current.Write(logEvent);
    }

    /// <summary>Throws (IOException) when the file cannot be opened; the old one then stays in use.</summary>
    public void Reopen()
    {
        var fresh = open();
        Logger old;
        lock (_gate)
        {
            old = _current;
            _current = fresh;
        }
        old.Dispose();
    }

    public void Dispose()
    {
        lock (_gate) _current.Dispose();
    }
}
