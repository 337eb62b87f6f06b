using Serilog.Events;
using Serilog.Formatting;

namespace Pingora.Proxy.Logging;

/// <summary>
/// Writes the exception of a warning as one line ("cause: SocketException: Connection refused") instead of a stack
/// trace: YARP reports every failed proxy attempt as a warning with its exception, and an unreachable backend under
/// load would otherwise bury the log in identical traces. Errors keep their traces, and so does every level when
/// log_level is debug or verbose.
/// </summary>
internal sealed class OneLineWarnings(ITextFormatter inner, bool traces) : ITextFormatter
{
    public void Format(LogEvent logEvent, TextWriter output)
    {
        if (traces || logEvent.Exception is not { } exception || logEvent.Level >= LogEventLevel.Error)
        {
            inner.Format(logEvent, output);
            return;
        }
        using var line = new StringWriter();
        inner.Format(new LogEvent(logEvent.Timestamp, logEvent.Level, null, logEvent.MessageTemplate,
            logEvent.Properties.Select(p => new LogEventProperty(p.Key, p.Value))), line);
        output.Write(line.ToString().TrimEnd('\r', '\n'));
        output.Write(" (cause: ");
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            output.Write(e.GetType().Name);
            output.Write(": ");
            output.Write(e.Message);
            if (e.InnerException is not null) output.Write(" <- ");
        }
        output.WriteLine(')');
    }
}
