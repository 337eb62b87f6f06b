using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Logging;
using Serilog;
using Serilog.Formatting.Display;

namespace Pingora.Proxy.Tests.Logging;

[TestFixture]
public sealed class ErrorLogFileTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pingora-log-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Two_writers_on_one_file_append_every_line_whole()
    {
        // Two loggers are two open file descriptions, as the old and the new process have during an upgrade. Some
        // lines are longer than Serilog's StreamWriter buffer (1024 characters) and the FileStream's (4 KB): each must
        // still be one write, or the other writer's lines land inside it.
        var path = Path.Combine(_dir, "error.log");
        const int linesEach = 2000;
        using (var a = Logger(path))
        using (var b = Logger(path))
        {
            Parallel.Invoke(() => Write(a, "a", linesEach), () => Write(b, "b", linesEach));
        }
        var lines = File.ReadAllLines(path);
        Assert.That(lines, Has.Length.EqualTo(2 * linesEach), "no line overwritten");
        // The first few bad lines, shortened: a torn 9000-character line would otherwise fill the report.
        var torn = lines.Where(l => !Regex.IsMatch(l, @"^[ab] \d+ x+$") || l.Split(' ')[2].Length != Length(int.Parse(l.Split(' ')[1])))
            .Take(3).Select(l => l.Length > 60 ? $"{l[..60]}... ({l.Length} characters)" : l);
        Assert.That(torn, Is.Empty, "no line torn or cut");
        Assert.That(lines.Where(l => l.StartsWith('a')).Select(l => int.Parse(l.Split(' ')[1])), Is.Ordered);
    }

    [Test]
    public void An_existing_log_is_appended_to()
    {
        var path = Path.Combine(_dir, "error.log");
        File.WriteAllText(path, "before\n");
        using (var log = Logger(path)) log.Information("after");
        Assert.That(File.ReadAllLines(path), Is.EqualTo(new[] { "before", "after" }));
    }

    [Test]
    public void A_missing_directory_is_a_clear_error()
    {
        var error = Assert.Throws<IOException>(() => Logger("/nonexistent-dir/e.log"));
        Assert.That(error!.Message, Is.EqualTo("error_log /nonexistent-dir/e.log: cannot open: ENOENT"));
    }

    [Test]
    public void A_symlink_at_the_log_is_refused_and_its_target_untouched()
    {
        var target = Path.Combine(_dir, "target");
        File.WriteAllText(target, "precious\n");
        var path = Path.Combine(_dir, "error.log");
        File.CreateSymbolicLink(path, target);
        var error = Assert.Throws<IOException>(() => Logger(path));
        Assert.That(error!.Message, Does.Contain("is a symbolic link"));
        Assert.That(File.ReadAllText(target), Is.EqualTo("precious\n"));
    }

    private static Serilog.Core.Logger Logger(string path) =>
        ErrorLogFile.WriteTo(new LoggerConfiguration(), path, new MessageTemplateTextFormatter("{Message:l}{NewLine}"), owner: null)
            .CreateLogger();

    private static int Length(int i) => i % 10 == 0 ? 9000 : i % 10 == 1 ? 1500 : 100;

    private static void Write(Serilog.ILogger log, string writer, int count)
    {
        for (var i = 0; i < count; i++) log.Information("{Writer} {Index} {Padding}", writer, i, new string('x', Length(i)));
    }
}
