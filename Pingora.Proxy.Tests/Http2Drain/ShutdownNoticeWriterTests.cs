using System.Buffers;
using System.IO.Pipelines;
using NUnit.Framework;
using Pingora.Proxy.Http2Drain;

namespace Pingora.Proxy.Tests.Http2Drain;

/// <summary>The drain's first GOAWAY goes into Kestrel's output only between whole frames, never inside a header
/// block, never before the server's SETTINGS, never into a buffer Kestrel holds, and once.</summary>
[TestFixture]
public sealed class ShutdownNoticeWriterTests
{
    private static readonly byte[] Notice = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

    private static byte[] Frame(byte type, byte flags, int length, byte fill = 0xAB) =>
        [(byte)(length >> 16), (byte)(length >> 8), (byte)length, type, flags, 0, 0, 0, 1, .. Enumerable.Repeat(fill, length)];

    private static readonly byte[] Settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];

    private Pipe _pipe = null!;
    private ShutdownNoticeWriter _writer = null!;

    [SetUp]
    public void SetUp()
    {
        _pipe = new Pipe();
        _writer = new ShutdownNoticeWriter(_pipe.Writer);
    }

    [TearDown]
    public void TearDown()
    {
        _pipe.Writer.Complete();
        _pipe.Reader.Complete();
    }

    /// <summary>As Kestrel writes: take a buffer, fill it, advance (possibly in pieces), flush.</summary>
    private async Task KestrelWritesAsync(params byte[][] pieces)
    {
        foreach (var piece in pieces)
        {
            piece.CopyTo(_writer.GetSpan(piece.Length));
            _writer.Advance(piece.Length);
        }
        await _writer.FlushAsync();
    }

    private byte[] Sent()
    {
        Assert.That(_pipe.Reader.TryRead(out var read), Is.True, "nothing was flushed");
        var bytes = read.Buffer.ToArray();
        _pipe.Reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }

    [Test]
    public async Task Between_frames_the_notice_is_written_and_flushed_at_once()
    {
        await KestrelWritesAsync(Settings);
        Assert.That(Sent(), Is.EqualTo(Settings));

        _writer.SendShutdownNotice();

        Assert.That(_writer.NoticeSent, Is.True);
        Assert.That(Sent(), Is.EqualTo(Notice), "GOAWAY, last stream id 2^31-1, NO_ERROR");
    }

    [Test]
    public async Task Before_the_servers_first_frame_it_waits_for_that_frame()
    {
        _writer.SendShutdownNotice();
        Assert.That(_writer.NoticeSent, Is.False);
        Assert.That(_pipe.Reader.TryRead(out _), Is.False);

        await KestrelWritesAsync(Settings);

        Assert.That(Sent(), Is.EqualTo(Settings.Concat(Notice).ToArray()));
    }

    [Test]
    public async Task Mid_frame_it_follows_the_end_of_that_frame()
    {
        await KestrelWritesAsync(Settings);
        Sent();
        var data = Frame(0x0, 0, 20);
        data.AsSpan(0, 12).CopyTo(_writer.GetSpan(12));
        _writer.Advance(12);

        _writer.SendShutdownNotice();
        Assert.That(_writer.NoticeSent, Is.False, "mid-frame");

        data.AsSpan(12).CopyTo(_writer.GetSpan(data.Length - 12));
        _writer.Advance(data.Length - 12);
        await _writer.FlushAsync();
        Assert.That(Sent(), Is.EqualTo(data.Concat(Notice).ToArray()));
    }

    [Test]
    public async Task Inside_a_header_block_it_follows_the_block_end()
    {
        await KestrelWritesAsync(Settings);
        Sent();
        var headers = Frame(0x1, 0, 5);          // HEADERS without END_HEADERS
        var continuation = Frame(0x9, 0x4, 3);  // CONTINUATION with END_HEADERS
        await KestrelWritesAsync(headers);
        Sent();

        _writer.SendShutdownNotice();
        Assert.That(_writer.NoticeSent, Is.False, "inside a header block");

        await KestrelWritesAsync(continuation);
        Assert.That(Sent(), Is.EqualTo(continuation.Concat(Notice).ToArray()));
    }

    [Test]
    public async Task Not_into_a_buffer_Kestrel_holds_and_only_once()
    {
        await KestrelWritesAsync(Settings);
        Sent();
        var ping = Frame(0x6, 0x1, 8);
        ping.CopyTo(_writer.GetSpan(ping.Length)); // lent, not yet advanced

        _writer.SendShutdownNotice();
        Assert.That(_writer.NoticeSent, Is.False, "a buffer is lent");

        _writer.Advance(ping.Length);
        _writer.SendShutdownNotice();
        await _writer.FlushAsync();
        await KestrelWritesAsync(Settings);
        Assert.That(Sent(), Is.EqualTo(ping.Concat(Notice).Concat(Settings).ToArray()), "one notice, right after the frame");
    }

    [Test]
    public async Task After_Kestrel_completed_the_output_it_writes_nothing_and_does_not_throw()
    {
        await KestrelWritesAsync(Settings);
        Sent();
        _writer.Complete();

        Assert.That(_writer.SendShutdownNotice, Throws.Nothing);
        Assert.That(_writer.NoticeSent, Is.False);
    }
}
