using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Upgrade;
using Pingora.Proxy.Native;
using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Upgrade;

public class FdPassingTests
{
    [TestCase(PairKind.Path, false)]
    [TestCase(PairKind.Path, true)]
    [TestCase(PairKind.SocketPair, true)]
    public async Task PassedListenersAcceptConnectionsMadeToTheOriginalPorts(PairKind kind, bool withIPv6)
    {
        var listeners = new List<Socket> { TestSockets.ListenTcp(IPAddress.Loopback) };
        int[] received = [];
        try
        {
            if (withIPv6) listeners.Add(TestSockets.ListenTcpIPv6OrIgnore());
            using var pair = await UnixPair.CreateAsync(kind);

            FdPassing.Send(pair.Predecessor, "L"u8, listeners.Select(TestSockets.FdOf).ToArray());
            var buffer = new byte[16];
            var chunk = FdPassing.Receive(pair.Successor, buffer, TestSockets.Bounded);
            received = chunk.Fds;

            Assert.That(chunk.BytesRead, Is.EqualTo(1));
            Assert.That(buffer[0], Is.EqualTo((byte)'L'));
            Assert.That(received, Has.Length.EqualTo(listeners.Count));
            for (var i = 0; i < received.Length; i++)
            {
                Assert.That(received[i], Is.Not.EqualTo(TestSockets.FdOf(listeners[i])), "the receiver gets its own fd numbers");
                Assert.That(TestSockets.HasCloexec(received[i]), Is.True, $"FD_CLOEXEC on received fd {received[i]}");
                await TestSockets.AssertAcceptsConnectionsToAsync(received[i], TestSockets.EndPointOf(listeners[i]));
            }
        }
        finally
        {
            Fds.CloseAll(received);
            foreach (var listener in listeners) listener.Dispose();
        }
    }

    [Test]
    public async Task APayloadLargerThanTheSocketBufferArrivesWholeWithTheFdsOnItsFirstBytes()
    {
        using var listener = TestSockets.ListenTcp(IPAddress.Loopback);
        using var pair = await UnixPair.ConnectThroughPathAsync();
        var payload = Enumerable.Range(0, 4 << 20).Select(i => (byte)(i % 251)).ToArray();
        var fds = new[] { TestSockets.FdOf(listener), TestSockets.FdOf(listener) };

        // Four MiB cannot fit a Unix socket buffer: the sender sees partial writes and EAGAIN while this reads.
        var send = Task.Run(() => FdPassing.Send(pair.Predecessor, payload, fds, TestSockets.Bounded));
        var received = new byte[payload.Length];
        var receivedFds = new List<(int Offset, int Fd)>();
        try
        {
            var total = 0;
            var buffer = new byte[64 * 1024];
            while (total < payload.Length)
            {
                var chunk = await FdPassing.ReceiveAsync(pair.Successor, buffer, new CancellationTokenSource(TestSockets.Bounded).Token);
                Assert.That(chunk.IsEndOfStream, Is.False, $"end of stream after {total} bytes");
                receivedFds.AddRange(chunk.Fds.Select(fd => (total, fd)));
                buffer.AsSpan(0, chunk.BytesRead).CopyTo(received.AsSpan(total));
                total += chunk.BytesRead;
            }
            await send.WaitAsync(TestSockets.Bounded);

            Assert.That(received.AsSpan().SequenceEqual(payload), Is.True, "every byte, in order");
            Assert.That(receivedFds.Select(r => r.Offset), Is.EqualTo(new[] { 0, 0 }), "both fds, with the first chunk only");
        }
        finally
        {
            Fds.CloseAll(receivedFds.Select(r => r.Fd).ToArray());
        }
    }

    [Test]
    public async Task MoreFdsThanTheReceiverTakesAreAllClosedAndReported()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();
        var listener = TestSockets.ListenTcp(IPAddress.Loopback);
        var endPoint = TestSockets.EndPointOf(listener);
        var fd = TestSockets.FdOf(listener);
        FdPassing.Send(pair.Predecessor, "x"u8, [fd, fd, fd]);
        // From here the only references to the listening socket are the ones in flight.
        listener.Dispose();

        var e = Assert.Throws<IOException>(() => FdPassing.Receive(pair.Successor, new byte[8], TestSockets.Bounded, maxFds: 1));

        // Room for one fd is rounded up to room for two (CMSG_SPACE aligns to 8 bytes): two arrive, the third is cut.
        Assert.That(e!.Message, Does.Contain("MSG_CTRUNC").And.Contain("the 2 fds that arrived were closed"));
        await TestSockets.AssertNothingListensOnAsync(endPoint);
    }

    [Test]
    public async Task FdsBeyondWhatTheReceiverAskedForAreClosedEvenWhenTheyFit()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();
        var listener = TestSockets.ListenTcp(IPAddress.Loopback);
        var endPoint = TestSockets.EndPointOf(listener);
        var fd = TestSockets.FdOf(listener);
        FdPassing.Send(pair.Predecessor, "x"u8, [fd, fd]);
        listener.Dispose();

        var e = Assert.Throws<IOException>(() => FdPassing.Receive(pair.Successor, new byte[8], TestSockets.Bounded, maxFds: 1));

        Assert.That(e!.Message, Is.EqualTo("recvmsg: 2 fds arrived where at most 1 were expected; they were closed"));
        await TestSockets.AssertNothingListensOnAsync(endPoint);
    }

    [Test]
    public async Task AReceiveWithNothingToReadTimesOut()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();

        var e = Assert.Throws<TimeoutException>(() => FdPassing.Receive(pair.Successor, new byte[8], TimeSpan.FromMilliseconds(100)));
        Assert.That(e!.Message, Does.Contain("recvmsg").And.Contain("readable within 100 ms"));
    }

    [Test]
    public async Task AnAsyncReceiveEndsWithItsToken()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.CatchAsync<OperationCanceledException>(async () =>
            await FdPassing.ReceiveAsync(pair.Successor, new byte[8], cts.Token).AsTask().WaitAsync(TestSockets.Bounded));
    }

    [Test]
    public async Task AClosedPeerIsEndOfStream()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();
        pair.Predecessor.Dispose();

        Assert.That(FdPassing.Receive(pair.Successor, new byte[8], TestSockets.Bounded).IsEndOfStream, Is.True);
        var chunk = await FdPassing.ReceiveAsync(pair.Successor, new byte[8], new CancellationTokenSource(TestSockets.Bounded).Token);
        Assert.That(chunk.IsEndOfStream, Is.True);
    }

    [Test]
    public async Task SendingToAClosedPeerNamesTheCallAndTheErrno()
    {
        using var pair = await UnixPair.ConnectThroughPathAsync();
        pair.Successor.Dispose();

        var e = Assert.Throws<NativeCallException>(() => FdPassing.Send(pair.Predecessor, "x"u8, []));
        Assert.That(e!.Errno, Is.EqualTo(Errno.EPIPE));
        Assert.That(e.Message, Is.EqualTo("sendmsg failed: Broken pipe (errno 32)"));
    }

    [Test]
    public async Task FdsNeedAPayloadByte()
    {
        using var listener = TestSockets.ListenTcp(IPAddress.Loopback);
        using var pair = await UnixPair.ConnectThroughPathAsync();

        Assert.Throws<ArgumentException>(() => FdPassing.Send(pair.Predecessor, [], [TestSockets.FdOf(listener)]));
        Assert.Throws<ArgumentException>(() => FdPassing.Receive(pair.Successor, [], TestSockets.Bounded));
    }
}
