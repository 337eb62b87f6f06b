using NUnit.Framework;
using Pingora.Proxy.Upgraded;

namespace Pingora.Proxy.Tests.Upgraded;

[TestFixture]
public sealed class WebSocketFrameFollowerTests
{
    /// <summary>A text frame with <paramref name="length"/> payload bytes, as a server sends it, or masked as a client does.</summary>
    internal static byte[] Frame(int length, bool masked = false, byte opcode = 0x1)
    {
        var header = new List<byte> { (byte)(0x80 | opcode) };
        var mask = masked ? 0x80 : 0;
        if (length < 126) header.Add((byte)(mask | length));
        else if (length <= ushort.MaxValue) header.AddRange([(byte)(mask | 126), (byte)(length >> 8), (byte)length]);
        else header.AddRange([(byte)(mask | 127), 0, 0, 0, 0, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length]);
        if (masked) header.AddRange([1, 2, 3, 4]);
        return [.. header, .. new byte[length]];
    }

    [TestCase(0)]
    [TestCase(5)]
    [TestCase(125)]
    [TestCase(126)]
    [TestCase(70_000)]
    public void A_frame_fed_one_byte_at_a_time_ends_at_its_last_byte(int length)
    {
        foreach (var masked in new[] { false, true })
        {
            var follower = new WebSocketFrameFollower();
            var frame = Frame(length, masked);
            for (var i = 0; i < frame.Length; i++)
            {
                Assert.That(follower.AtBoundary, Is.EqualTo(i == 0), $"before byte {i} of a {length}-byte frame (masked: {masked})");
                follower.Follow(frame.AsSpan(i, 1));
            }
            Assert.That((follower.AtBoundary, follower.Frames), Is.EqualTo((true, 1L)));
        }
    }

    [Test]
    public void Stopping_at_a_boundary_takes_the_rest_of_the_current_frame_only()
    {
        var follower = new WebSocketFrameFollower();
        byte[] stream = [.. Frame(10), .. Frame(300), .. Frame(3)];
        Assert.That(follower.Follow(stream.AsSpan(0, 7)), Is.EqualTo(7));

        Assert.That(follower.Follow(stream.AsSpan(7), stopAtBoundary: true), Is.EqualTo(12 - 7), "the rest of the first frame");
        Assert.That(follower.AtBoundary, Is.True);
        Assert.That(follower.Follow(stream.AsSpan(12), stopAtBoundary: true), Is.Zero, "already at a boundary");
    }

    [Test]
    public void A_close_frame_is_seen_once_whole()
    {
        var follower = new WebSocketFrameFollower();
        var close = WebSocketClose.ToServer();
        follower.Follow(close.AsSpan(0, close.Length - 1));
        Assert.That(follower.SawClose, Is.False);
        follower.Follow(close.AsSpan(close.Length - 1));
        Assert.That(follower.SawClose, Is.True);
    }

    [Test]
    public void A_64_bit_length_with_its_top_bit_set_loses_the_boundaries_for_good()
    {
        var follower = new WebSocketFrameFollower();
        follower.Follow([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        Assert.That((follower.Lost, follower.AtBoundary), Is.EqualTo((true, false)));
        Assert.That(follower.Follow([1, 2, 3], stopAtBoundary: true), Is.EqualTo(3), "lost: everything passes");
    }

    [Test]
    public void The_close_frames_carry_1001_and_the_one_for_the_upstream_is_masked()
    {
        Assert.That(WebSocketClose.ToClient(), Is.EqualTo(new byte[] { 0x88, 0x02, 0x03, 0xE9 }));
        var masked = WebSocketClose.ToServer();
        Assert.That((masked[0], masked[1]), Is.EqualTo(((byte)0x88, (byte)0x82)));
        Assert.That(new[] { (byte)(masked[6] ^ masked[2]), (byte)(masked[7] ^ masked[3]) }, Is.EqualTo(new byte[] { 0x03, 0xE9 }));
    }
}
