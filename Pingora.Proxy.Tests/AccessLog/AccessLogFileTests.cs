using System.Text;
using NUnit.Framework;
using Pingora.Proxy.AccessLog;

namespace Pingora.Proxy.Tests.AccessLog;

/// <summary>The file: lines appended whole by several writers, and a reopen after a rename that loses none.</summary>
[TestFixture]
public sealed class AccessLogFileTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pingora-accesslog-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Concurrent_writers_through_a_reopen_after_rename_lose_no_line_and_tear_none()
    {
        var path = Path.Combine(_dir, "access.log");
        // Two files on the same path, as two processes during an upgrade.
        using var first = AccessLogFile.Open(path, owner: null);
        using var second = AccessLogFile.Open(path, owner: null);
        const int perWriter = 2000;
        var rotated = Path.Combine(_dir, "access.log.1");
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var file = w % 2 == 0 ? first : second;
            for (var i = 0; i < perWriter; i++)
            {
                file.Write(Encoding.ASCII.GetBytes($"writer {w} line {i} {new string('x', 200 + i % 300)}\n"));
                if (w == 0 && i == perWriter / 2)
                {
                    File.Move(path, rotated);
                    first.Reopen();
                    second.Reopen();
                }
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));

        var lines = File.ReadAllLines(rotated).Concat(File.ReadAllLines(path)).ToList();
        Assert.That(lines, Has.Count.EqualTo(4 * perWriter));
        Assert.That(lines, Has.All.Match(@"^writer \d line \d+ x+$"), "every line whole");
        Assert.That(lines.Distinct().Count(), Is.EqualTo(4 * perWriter));
        Assert.That(File.ReadAllLines(path), Is.Not.Empty, "lines after the reopen went to the new file");
        Assert.That(first.Failed + second.Failed, Is.Zero);
    }

    [Test]
    public void A_symlink_at_the_path_is_refused_with_the_key_and_path()
    {
        var path = Path.Combine(_dir, "access.log");
        File.CreateSymbolicLink(path, Path.Combine(_dir, "elsewhere"));
        var e = Assert.Throws<IOException>(() => AccessLogFile.Open(path, owner: null));
        Assert.That(e!.Message, Does.StartWith($"access_log {path}: is a symbolic link"));
    }
}
