using System.Text;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.AccessLog;

namespace Pingora.Proxy.Tests.AccessLog;

/// <summary>The buffer: when lines reach the file (full, flush interval, reopen, exit), whole and in order.</summary>
[TestFixture]
public sealed class AccessLogBufferTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private string _dir = "";
    private string _path = "";
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Directory.CreateTempSubdirectory("pingora-accessbuffer-").FullName;
        _path = Path.Combine(_dir, "access.log");
        _time = new FakeTimeProvider();
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private AccessLogBuffer Open(int capacity) => new(AccessLogFile.Open(_path, owner: null), capacity, Interval, _time);

    private static byte[] Line(int i, int width = 10) => Encoding.ASCII.GetBytes($"line {i:D4} {new string('x', width)}\n");

    private string[] Lines(string? path = null) => File.ReadAllLines(path ?? _path);

    [Test]
    public void Lines_wait_until_the_buffer_is_full_then_go_out_whole_in_one_write()
    {
        using var buffer = Open(capacity: 5 * Line(0).Length); // 5 fit exactly
        for (var i = 0; i < 5; i++) buffer.Write(Line(i));
        Assert.That(new FileInfo(_path).Length, Is.Zero, "five lines fill the buffer without a write");
        buffer.Write(Line(5));
        Assert.That(Lines(), Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"line {i:D4} xxxxxxxxxx")), "the full buffer, and only whole lines");
    }

    [Test]
    public void The_flush_interval_writes_what_is_gathered()
    {
        using var buffer = Open(capacity: 64 * 1024);
        buffer.Write(Line(0));
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.That(new FileInfo(_path).Length, Is.Zero);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(Lines(), Has.Length.EqualTo(1));
        buffer.Write(Line(1));
        _time.Advance(Interval);
        Assert.That(Lines(), Has.Length.EqualTo(2), "every interval, not once");
    }

    [Test]
    public void Dispose_writes_the_rest_and_a_later_line_is_counted_lost()
    {
        var buffer = Open(capacity: 64 * 1024);
        for (var i = 0; i < 3; i++) buffer.Write(Line(i));
        buffer.Dispose();
        Assert.That(Lines(), Has.Length.EqualTo(3));
        buffer.Write(Line(3));
        Assert.That((Lines().Length, buffer.File.Failed), Is.EqualTo((3, 1L)));
    }

    [Test]
    public void A_failed_write_counts_every_line_it_held_and_is_reported_once()
    {
        var failures = new List<Exception>();
        using var buffer = new AccessLogBuffer(AccessLogFile.Open(_path, owner: null), 64 * 1024, Interval, _time, failures.Add);
        for (var i = 0; i < 3; i++) buffer.Write(Line(i));
        buffer.File.Dispose(); // the write fails, as on a full disk
        buffer.Flush();
        buffer.Write(Line(3));
        buffer.Flush();
        Assert.That(buffer.File.Failed, Is.EqualTo(4), "lost lines, not lost writes");
        Assert.That(failures, Has.Count.EqualTo(1), "reported at most every 10 s");
    }

    [Test]
    public void Lines_before_a_reopen_stay_in_the_renamed_file_and_later_ones_go_to_the_new_one()
    {
        using var buffer = Open(capacity: 64 * 1024);
        buffer.Write(Line(0));
        buffer.Write(Line(1));
        File.Move(_path, _path + ".1");
        buffer.Reopen();
        buffer.Write(Line(2));
        buffer.Flush();
        Assert.That(Lines(_path + ".1"), Has.Length.EqualTo(2));
        Assert.That(Lines(), Is.EqualTo(new[] { "line 0002 xxxxxxxxxx" }));
    }

    [Test]
    public void A_line_longer_than_the_buffer_follows_the_lines_before_it()
    {
        using var buffer = Open(capacity: 100);
        buffer.Write(Line(0));
        buffer.Write(Line(1, width: 500));
        buffer.Write(Line(2));
        buffer.Flush();
        Assert.That(Lines().Select(l => l[..9]), Is.EqualTo(new[] { "line 0000", "line 0001", "line 0002" }));
    }

    [Test]
    public void Capacity_zero_writes_each_line_as_it_comes()
    {
        using var buffer = Open(capacity: 0);
        buffer.Write(Line(0));
        Assert.That(Lines(), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task Two_buffers_on_one_file_through_a_reopen_keep_every_line_whole()
    {
        // Two processes during an upgrade, each with its buffer, several threads each, and logrotate midway.
        var first = Open(capacity: 4096);
        var second = Open(capacity: 4096);
        const int perWriter = 3000;
        var rotated = _path + ".1";
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var buffer = w % 2 == 0 ? first : second;
            for (var i = 0; i < perWriter; i++)
            {
                buffer.Write(Encoding.ASCII.GetBytes($"writer {w} line {i} {new string('x', 50 + i % 300)}\n"));
                if (w == 0 && i == perWriter / 2)
                {
                    File.Move(_path, rotated);
                    first.Reopen();
                    second.Reopen();
                }
                if (i % 500 == 0) _time.Advance(Interval); // the timer's flushes race the writers too
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
        first.Dispose();
        second.Dispose();

        var lines = Lines(rotated).Concat(Lines()).ToList();
        Assert.That(lines, Has.Count.EqualTo(4 * perWriter));
        Assert.That(lines, Has.All.Match(@"^writer \d line \d+ x+$"), "every line whole");
        Assert.That(lines.Distinct().Count(), Is.EqualTo(4 * perWriter));
        Assert.That(Lines(), Is.Not.Empty, "lines after the reopen went to the new file");
        Assert.That(first.File.Failed + second.File.Failed, Is.Zero);
    }
}
