using System.Buffers;
using System.IO.Pipelines;
using NUnit.Framework;
using Pingora.Proxy.Http2Drain;

namespace Pingora.Proxy.Tests.Http2Drain;

[TestFixture]
public sealed class Http2FrameFollowerTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private static byte[] Frame(byte type, byte flags, int length) =>
        [(byte)(length >> 16), (byte)(length >> 8), (byte)length, type, flags, 0, 0, 0, 1, .. new byte[length]];

    [Test]
    public void A_frame_may_be_added_only_between_frames_after_the_preface_and_outside_a_header_block()
    {
        var follower = new Http2FrameFollower();
        Assert.That(follower.CanInsertFrame, Is.False, "before the preface");
        follower.Follow(Preface);
        Assert.That(follower.CanInsertFrame, Is.True);

        var data = Frame(0x0, 0, 20);
        follower.Follow(data.AsSpan(0, 12));
        Assert.That(follower.CanInsertFrame, Is.False, "mid-frame");
        follower.Follow(data.AsSpan(12));
        Assert.That(follower.CanInsertFrame, Is.True);

        follower.Follow(Frame(0x1, 0, 5)); // HEADERS without END_HEADERS
        Assert.That(follower.CanInsertFrame, Is.False, "inside a header block");
        follower.Follow(Frame(0x9, 0x4, 3)); // CONTINUATION with END_HEADERS
        Assert.That(follower.CanInsertFrame, Is.True);
    }

    [Test]
    public void Bytes_that_do_not_start_with_the_preface_are_not_http2()
    {
        var follower = new Http2FrameFollower();
        follower.Follow("GET / HTTP/1.1\r\n"u8);
        Assert.That((follower.NotHttp2, follower.CanInsertFrame), Is.EqualTo((true, false)));
    }

    [Test]
    public async Task A_wake_hands_the_reader_an_unknown_frame_and_the_client_bytes_pass_unchanged()
    {
        var pipe = new Pipe();
        var reader = new WakeablePipeReader(pipe.Reader);
        byte[] sent = [.. Preface, .. Frame(0x4, 0, 0)];
        await pipe.Writer.WriteAsync(sent);
        var first = await reader.ReadAsync();
        Assert.That(first.Buffer.ToArray(), Is.EqualTo(sent));
        reader.AdvanceTo(first.Buffer.End);

        var pending = reader.ReadAsync().AsTask();
        reader.Wake();
        var woken = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That((woken.IsCanceled, woken.IsCompleted), Is.EqualTo((false, false)), "Kestrel must see neither a cancel nor an end");
        Assert.That(woken.Buffer.ToArray(), Is.EqualTo(new byte[] { 0, 0, 0, 0xFA, 0, 0, 0, 0, 0 }));
        reader.AdvanceTo(woken.Buffer.End);

        await pipe.Writer.WriteAsync(Frame(0x6, 0, 8));
        var next = await reader.ReadAsync();
        Assert.That(next.Buffer.ToArray(), Is.EqualTo(Frame(0x6, 0, 8)), "the client's next frame, unchanged");
    }
}
