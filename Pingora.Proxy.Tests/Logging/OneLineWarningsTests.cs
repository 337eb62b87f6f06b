using NUnit.Framework;
using Pingora.Proxy.Logging;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace Pingora.Proxy.Tests.Logging;

[TestFixture]
public sealed class OneLineWarningsTests
{
    private static string Format(LogEventLevel level, bool traces)
    {
        Exception cause;
        try { throw new InvalidOperationException("outer", new IOException("inner")); }
        catch (Exception e) { cause = e; }
        var logEvent = new LogEvent(DateTimeOffset.UnixEpoch, level, cause, new MessageTemplateParser().Parse("proxying failed"), []);
        var output = new StringWriter();
        new OneLineWarnings(new MessageTemplateTextFormatter("{Message:l}{NewLine}{Exception}"), traces).Format(logEvent, output);
        return output.ToString();
    }

    [Test]
    public void A_warning_names_its_cause_on_the_same_line()
    {
        Assert.That(Format(LogEventLevel.Warning, traces: false),
            Is.EqualTo("proxying failed (cause: InvalidOperationException: outer <- IOException: inner)" + Environment.NewLine));
    }

    [TestCase(LogEventLevel.Error, false)]
    [TestCase(LogEventLevel.Warning, true)]
    public void Errors_and_debug_logging_keep_the_stack_trace(LogEventLevel level, bool traces)
    {
        var text = Format(level, traces);
        Assert.That(text, Does.StartWith("proxying failed" + Environment.NewLine + "System.InvalidOperationException: outer"));
        Assert.That(text, Does.Contain("   at "));
    }
}
