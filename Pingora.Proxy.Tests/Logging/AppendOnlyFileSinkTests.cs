using NUnit.Framework;
using Pingora.Proxy.Logging;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace Pingora.Proxy.Tests.Logging;

[TestFixture]
public sealed class AppendOnlyFileSinkTests
{
    [Test]
    public void Two_writers_on_one_file_append_every_line_whole()
    {
        // Two sinks are two open file descriptions, as the old and the new process have during an upgrade.
        var path = Path.Combine(Path.GetTempPath(), $"pingora-append-{Guid.NewGuid():N}.log");
        try
        {
            const int linesEach = 3000;
            var format = new MessageTemplateTextFormatter("{Message:l}{NewLine}");
            using (var a = new AppendOnlyFileSink(path, format))
            using (var b = new AppendOnlyFileSink(path, format))
            {
                Parallel.Invoke(() => Write(a, "a", linesEach), () => Write(b, "b", linesEach));
            }
            var lines = File.ReadAllLines(path);
            Assert.That(lines, Has.Length.EqualTo(2 * linesEach), "no line overwritten");
            Assert.That(lines, Is.All.Match(@"^[ab] \d+ x{100}$"), "no line torn");
            Assert.That(lines.Where(l => l.StartsWith('a')).Select(l => int.Parse(l.Split(' ')[1])), Is.Ordered);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_missing_directory_is_a_clear_error()
    {
        var error = Assert.Throws<IOException>(() => new AppendOnlyFileSink("/nonexistent-dir/e.log", new MessageTemplateTextFormatter("{Message}")));
        Assert.That(error!.Message, Is.EqualTo("cannot open error_log /nonexistent-dir/e.log: ENOENT"));
    }

    private static void Write(AppendOnlyFileSink sink, string writer, int count)
    {
        var parser = new MessageTemplateParser();
        for (var i = 0; i < count; i++)
            sink.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null,
                parser.Parse($"{writer} {i} {new string('x', 100)}"), []));
    }
}
