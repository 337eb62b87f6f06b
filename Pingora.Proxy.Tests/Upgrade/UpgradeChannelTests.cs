using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Upgrade;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Tests.Upgrade;

public class UpgradeChannelTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(150);

    private UnixPair _pair = null!;
    private UpgradeChannel _predecessor = null!;
    private UpgradeChannel _successor = null!;
    private Socket _listener = null!;
    private readonly List<int> _receivedFds = [];

    [SetUp]
    public async Task SetUp()
    {
        _pair = await UnixPair.ConnectThroughPathAsync();
        _predecessor = new UpgradeChannel(_pair.Predecessor);
        _successor = new UpgradeChannel(_pair.Successor);
        _listener = TestSockets.ListenTcp(IPAddress.Loopback);
    }

    [TearDown]
    public void TearDown()
    {
        Fds.CloseAll(_receivedFds.ToArray());
        _predecessor.Dispose();
        _successor.Dispose();
        _listener.Dispose();
        _pair.Dispose();
    }

    private HandoffHeader HeaderForListener() =>
        HandoffHeader.ForCurrentProcess([new ListenAddress(TestSockets.EndPointOf(_listener))]);

    private async Task<(HandoffHeader Header, int[] Fds)> HandOverListenerAsync()
    {
        await _predecessor.SendListenersAsync(HeaderForListener(), new[] { TestSockets.FdOf(_listener) });
        var received = await _successor.ReceiveListenersAsync(TestSockets.Bounded);
        _receivedFds.AddRange(received.Fds);
        return received;
    }

    [Test]
    public async Task ListenersThenReadyThenCommit()
    {
        var header = HeaderForListener();

        async Task<SuccessorReply> Predecessor()
        {
            await _predecessor.SendListenersAsync(header, new[] { TestSockets.FdOf(_listener) });
            var reply = await _predecessor.ReceiveReplyAsync(TestSockets.Bounded);
            if (reply is SuccessorReply.Ready) await _predecessor.SendCommitAsync();
            return reply;
        }

        async Task<CommitDecision> Successor()
        {
            var (received, fds) = await _successor.ReceiveListenersAsync(TestSockets.Bounded);
            _receivedFds.AddRange(fds);
            Assert.That(received.SenderPid, Is.EqualTo(Environment.ProcessId));
            Assert.That(received.Addresses, Is.EqualTo(header.Addresses));
            Assert.That(fds, Has.Length.EqualTo(1));
            Assert.That(TestSockets.HasCloexec(fds[0]), Is.True);
            await TestSockets.AssertAcceptsConnectionsToAsync(fds[0], TestSockets.EndPointOf(_listener));
            await _successor.SendReadyAsync();
            return await _successor.ReceiveCommitAsync(TestSockets.Bounded);
        }

        var predecessor = Task.Run(Predecessor);
        var successor = Task.Run(Successor);
        await Task.WhenAll(predecessor, successor).WaitAsync(TestSockets.Bounded * 2);

        Assert.That(predecessor.Result, Is.EqualTo(new SuccessorReply.Ready()));
        Assert.That(successor.Result, Is.EqualTo(new CommitDecision.Committed()));
    }

    [Test]
    public async Task AHeaderOfManyKilobytesArrivesWholeWithAllItsFds()
    {
        // 250 listeners (the kernel allows 253 fds per message) with long IPv6 addresses: about 12 KB of header.
        var addresses = Enumerable.Range(0, 250)
            .Select(i => ListenAddress.Parse($"[2001:db8:aaaa:bbbb:cccc:dddd:{i / 100:x4}:{i:x4}]:{40000 + i}"))
            .ToArray();
        var header = new HandoffHeader(Environment.ProcessId, addresses);
        Assert.That(header.Encode(), Has.Length.GreaterThan(10_000));
        var copies = addresses.Select(_ => TestSockets.Dup(TestSockets.FdOf(_listener))).ToArray();
        try
        {
            var receive = _successor.ReceiveListenersAsync(TestSockets.Bounded);
            await _predecessor.SendListenersAsync(header, copies);
            var (received, fds) = await receive.WaitAsync(TestSockets.Bounded);
            _receivedFds.AddRange(fds);

            Assert.That(received.Addresses, Is.EqualTo(addresses));
            Assert.That(fds, Has.Length.EqualTo(250));
            Assert.That(fds, Is.Unique);
            foreach (var fd in fds)
            {
                Assert.That(TestSockets.HasCloexec(fd), Is.True);
                using var wrapper = new Socket(new SafeSocketHandle(fd, ownsHandle: false));
                Assert.That(wrapper.LocalEndPoint, Is.EqualTo(TestSockets.EndPointOf(_listener)));
            }
        }
        finally
        {
            Fds.CloseAll(copies);
        }
    }

    [Test]
    public async Task AFailedReplyCarriesItsReason()
    {
        await HandOverListenerAsync();

        await _successor.SendFailedAsync("binding 0.0.0.0:9100 (metrics): Address already in use");
        var reply = await _predecessor.ReceiveReplyAsync(TestSockets.Bounded);

        Assert.That(reply, Is.EqualTo(new SuccessorReply.Failed("binding 0.0.0.0:9100 (metrics): Address already in use")));
    }

    [Test]
    public async Task AVeryLongFailureReasonIsCutNotRefused()
    {
        await HandOverListenerAsync();

        await _successor.SendFailedAsync(new string('x', 100_000));
        var reply = await _predecessor.ReceiveReplyAsync(TestSockets.Bounded);

        Assert.That(reply, Is.TypeOf<SuccessorReply.Failed>());
        var reason = ((SuccessorReply.Failed)reply).Reason;
        Assert.That(reason, Does.StartWith(new string('x', UpgradeChannel.MaxReasonLength)).And.EndWith("(truncated)"));
    }

    [Test]
    public async Task ASuccessorThatClosesBeforeReadyIsPeerClosed()
    {
        await HandOverListenerAsync();
        _successor.Dispose();

        var reply = await _predecessor.ReceiveReplyAsync(TestSockets.Bounded);

        Assert.That(reply, Is.EqualTo(new SuccessorReply.PeerClosed()));
    }

    [Test]
    public async Task ASuccessorThatDiesWithoutReadingIsPeerClosed()
    {
        // Unread bytes make Linux report ECONNRESET rather than end of stream; to the predecessor it is the same.
        await _predecessor.SendListenersAsync(HeaderForListener(), new[] { TestSockets.FdOf(_listener) });
        _successor.Dispose();

        var reply = await _predecessor.ReceiveReplyAsync(TestSockets.Bounded);

        Assert.That(reply, Is.EqualTo(new SuccessorReply.PeerClosed()));
    }

    [Test]
    public async Task ASilentSuccessorIsATimeoutNotAClose()
    {
        await HandOverListenerAsync();

        var clock = Stopwatch.StartNew();
        var reply = await _predecessor.ReceiveReplyAsync(Short);
        clock.Stop();

        Assert.That(reply, Is.EqualTo(new SuccessorReply.TimedOut()));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(Short - TimeSpan.FromMilliseconds(20)).And.LessThan(TestSockets.Bounded));
        // The connection stayed open: a reply sent now is still read.
        await _successor.SendReadyAsync();
        Assert.That(await _predecessor.ReceiveReplyAsync(TestSockets.Bounded), Is.EqualTo(new SuccessorReply.Ready()));
    }

    [Test]
    public async Task WaitingForListenersTimesOutDistinctly()
    {
        var e = await Assert.ThrowsAsync<TimeoutException>(() => _successor.ReceiveListenersAsync(Short));
        Assert.That(e!.Message, Does.Contain("the connection is still open"));
    }

    [Test]
    public async Task APredecessorThatClosesBeforeSendingListenersIsEndOfStream()
    {
        _predecessor.Dispose();

        await Assert.ThrowsAsync<EndOfStreamException>(() => _successor.ReceiveListenersAsync(TestSockets.Bounded));
    }

    [Test]
    public async Task APredecessorThatClosesInsteadOfCommittingAborts()
    {
        await HandOverListenerAsync();
        await _successor.SendReadyAsync();
        Assert.That(await _predecessor.ReceiveReplyAsync(TestSockets.Bounded), Is.EqualTo(new SuccessorReply.Ready()));

        _predecessor.Dispose();
        var decision = await _successor.ReceiveCommitAsync(TestSockets.Bounded);

        Assert.That(decision, Is.EqualTo(new CommitDecision.Aborted(AbortCause.PeerClosed)));
    }

    [Test]
    public async Task APredecessorThatGaveUpBeforeALateReadyAborts()
    {
        await HandOverListenerAsync();
        Assert.That(await _predecessor.ReceiveReplyAsync(Short), Is.EqualTo(new SuccessorReply.TimedOut()));

        await _successor.SendReadyAsync();
        _predecessor.Dispose(); // with the Ready unread: the successor sees a reset
        var decision = await _successor.ReceiveCommitAsync(TestSockets.Bounded);

        Assert.That(decision, Is.EqualTo(new CommitDecision.Aborted(AbortCause.PeerClosed)));
    }

    [Test]
    public async Task ASilentPredecessorAbortsByTimeout()
    {
        await HandOverListenerAsync();
        await _successor.SendReadyAsync();

        var decision = await _successor.ReceiveCommitAsync(Short);

        Assert.That(decision, Is.EqualTo(new CommitDecision.Aborted(AbortCause.TimedOut)));
    }

    [Test]
    public async Task CancellationIsNeitherATimeoutNorAnAbort()
    {
        await HandOverListenerAsync();
        await _successor.SendReadyAsync();
        using var cts = new CancellationTokenSource(Short);

        await Assert.CatchAsync<OperationCanceledException>(() => _successor.ReceiveCommitAsync(TestSockets.Bounded, cts.Token));
    }

    [Test]
    public async Task FdsWithARejectedHeaderAreClosedByTheReceiver()
    {
        var endPoint = TestSockets.EndPointOf(_listener);
        // A header naming two listeners, sent with one fd.
        var header = new HandoffHeader(Environment.ProcessId,
            [new ListenAddress(endPoint), ListenAddress.Parse("127.0.0.1:1")]).Encode();
        FdPassing.Send(_pair.Predecessor, Frame(kind: 1, header), [TestSockets.FdOf(_listener)]);
        _listener.Dispose(); // the fd in flight is now the listening socket's only reference

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _successor.ReceiveListenersAsync(TestSockets.Bounded));

        Assert.That(e!.Message, Does.Contain("names 2 listener address(es) but 1 fd(s)"));
        await TestSockets.AssertNothingListensOnAsync(endPoint);
    }

    [Test]
    public async Task FdsOnAFrameThatMustCarryNoneAreClosedAndRefused()
    {
        var endPoint = TestSockets.EndPointOf(_listener);
        FdPassing.Send(_pair.Successor, Frame(kind: 2, []), [TestSockets.FdOf(_listener)]); // a Ready with an fd
        _listener.Dispose();

        var e = await Assert.ThrowsAsync<UpgradeProtocolException>(() => _predecessor.ReceiveReplyAsync(TestSockets.Bounded));

        Assert.That(e!.Message, Does.Contain("1 fd(s) arrived with a Ready frame"));
        await TestSockets.AssertNothingListensOnAsync(endPoint);
    }

    [Test]
    public async Task AnUnknownFrameKindIsAProtocolViolation()
    {
        await _pair.Successor.SendAsync(Frame(kind: 77, []));

        var e = await Assert.ThrowsAsync<UpgradeProtocolException>(() => _predecessor.ReceiveReplyAsync(TestSockets.Bounded));
        Assert.That(e!.Message, Does.Contain("unknown kind 77"));
    }

    [Test]
    public async Task AnOversizedFrameIsRefusedBeforeItsBodyIsRead()
    {
        var prefix = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, UpgradeChannel.MaxFrameLength + 1u);
        prefix[4] = 1;
        await _pair.Predecessor.SendAsync(prefix);

        var e = await Assert.ThrowsAsync<UpgradeProtocolException>(() => _successor.ReceiveListenersAsync(TestSockets.Bounded));
        Assert.That(e!.Message, Does.Contain("frame length"));
    }

    [Test]
    public async Task ATimeoutPartWayThroughAFrameEndsTheConversation()
    {
        await _pair.Successor.SendAsync(new byte[] { 0, 0, 0 }); // three bytes of a five-byte frame prefix

        Assert.That(await _predecessor.ReceiveReplyAsync(Short), Is.EqualTo(new SuccessorReply.TimedOut()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _predecessor.ReceiveReplyAsync(Short));
    }

    /// <summary>The wire form, written out independently of the channel: u32 big-endian length of kind + body, kind, body.</summary>
    private static byte[] Frame(byte kind, byte[] body)
    {
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(1 + body.Length));
        frame[4] = kind;
        body.CopyTo(frame, 5);
        return frame;
    }
}
