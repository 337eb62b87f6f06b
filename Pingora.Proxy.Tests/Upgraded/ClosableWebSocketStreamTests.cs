using System.IO.Pipelines;
using NUnit.Framework;
using Pingora.Proxy.Upgraded;

namespace Pingora.Proxy.Tests.Upgraded;

/// <summary>The stream between YARP and the client, with a pipe standing for the client's socket in each direction.</summary>
[TestFixture]
public sealed class ClosableWebSocketStreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private sealed class Client : Stream
    {
        public readonly Pipe ToClient = new();
        public readonly Pipe FromClient = new();
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => FromClient.Reader.AsStream().ReadAsync(buffer, ct);
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => await ToClient.Writer.WriteAsync(buffer, ct);
        public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
        public override int Read(byte[] b, int o, int c) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
        public override void Flush() { }
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException();
    }

    private static async Task<byte[]> ReceivedByClientAsync(Client client)
    {
        client.ToClient.Writer.Complete();
        using var all = new MemoryStream();
        await client.ToClient.Reader.AsStream().CopyToAsync(all).WaitAsync(Bound);
        return all.ToArray();
    }

    [Test]
    public async Task A_close_requested_mid_frame_goes_to_the_client_after_that_frame_and_what_follows_is_dropped()
    {
        var client = new Client();
        var stream = new ClosableWebSocketStream(client);
        var first = WebSocketFrameFollowerTests.Frame(100);
        await stream.WriteAsync(first.AsMemory(0, 50));

        stream.RequestClose();
        await stream.WriteAsync((byte[])[.. first.AsSpan(50), .. WebSocketFrameFollowerTests.Frame(10)]);
        await stream.ClientCloseSent.WaitAsync(Bound);

        Assert.That(await ReceivedByClientAsync(client), Is.EqualTo((byte[])[.. first, .. WebSocketClose.ToClient()]));
    }

    [Test]
    public async Task At_a_boundary_the_close_goes_to_the_client_at_once()
    {
        var client = new Client();
        var stream = new ClosableWebSocketStream(client);
        await stream.WriteAsync(WebSocketFrameFollowerTests.Frame(3));

        stream.RequestClose();
        await stream.ClientCloseSent.WaitAsync(Bound);
        await stream.WriteAsync(WebSocketClose.ToClient(1000)); // the upstream's answer: not for the client

        Assert.That(await ReceivedByClientAsync(client), Is.EqualTo((byte[])[.. WebSocketFrameFollowerTests.Frame(3), .. WebSocketClose.ToClient()]));
    }

    [Test]
    public async Task A_pending_read_hands_the_upstream_a_masked_close_then_ends_once_the_client_answered()
    {
        var client = new Client();
        var stream = new ClosableWebSocketStream(client);
        var buffer = new byte[64];
        var pending = stream.ReadAsync(buffer).AsTask();
        Assert.That(pending.IsCompleted, Is.False, "nothing from the client yet");

        stream.RequestClose();
        var read = await pending.WaitAsync(Bound);
        if (read == 0) read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Bound); // woken with nothing: the frame comes next
        Assert.That(read, Is.EqualTo(8));
        Assert.That((buffer[0], buffer[1]), Is.EqualTo(((byte)0x88, (byte)0x82)), "a masked close frame");

        var end = stream.ReadAsync(buffer).AsTask();
        await client.FromClient.Writer.WriteAsync(WebSocketClose.ToServer(1001));
        Assert.That(await end.WaitAsync(Bound), Is.Zero, "the end of the stream, after the client's close frame");
        Assert.That(client.FromClient.Reader.TryRead(out var left) && left.Buffer.Length > 0, Is.False, "nothing left unread");
    }
}
