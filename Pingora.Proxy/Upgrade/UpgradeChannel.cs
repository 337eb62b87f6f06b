using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Pingora.Proxy.Native;
using Mono.Unix.Native;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The conversation between predecessor and successor over one connected Unix stream socket:
/// <code>
///   predecessor -> successor   Listeners(header, fds)
///   successor   -> predecessor Ready | Failed(reason)
///   predecessor -> successor   Commit            (or it closes the connection: abort)
///   successor   -> predecessor Released          (it ends on purpose; or the connection closes: it died)
/// </code>
/// After the commit both keep the connection open for as long as they live: the kernel closes it when the successor
/// dies, however it dies, which is how the predecessor knows to take its listeners back (see <see cref="ReceiveReleaseAsync"/>).
/// Each message is a frame: a u32 big-endian length counting the kind byte and the body, a 1-byte kind, the body.
/// Only the Listeners frame carries fds, attached to its first byte.
/// </summary>
/// <remarks>
/// Every receive goes through recvmsg, so fds are never dropped by a plain read, whichever frame they ride on; fds
/// that arrive where the protocol does not allow them, or with a header that is rejected, are closed here.
/// Every receive is bounded by a timeout, and reports a closed peer differently from a silent one. One receive and one
/// send may run at the same time; two receives (or two sends) may not.
/// </remarks>
public sealed class UpgradeChannel : IDisposable
{
    /// <summary>Largest frame accepted (kind byte and body). A handoff header for the maximum of 253 listeners is
    /// under 13 KB; anything near this size is garbage, and is refused before a buffer is allocated for it.</summary>
    public const int MaxFrameLength = 1 << 20;

    /// <summary>Failure reasons longer than this many characters are cut, so that reporting a failure cannot fail.</summary>
    public const int MaxReasonLength = 4000;

    private const int PrefixLength = 5;

    private enum FrameKind : byte
    {
        Listeners = 1,
        Ready = 2,
        Failed = 3,
        Commit = 4,
        Released = 5,
    }

    private readonly record struct Frame(FrameKind Kind, byte[] Body, int[] Fds);

    private readonly Socket _socket;

    // Set when a receive stopped part-way through a frame (timeout, cancellation, protocol error): the next byte on
    // the stream is no longer a frame boundary, so nothing further can be read reliably.
    private string? _receiveBroken;
    private bool _midFrame;
    private bool _disposed;

    /// <param name="connectedUnixSocket">A connected Unix stream socket.</param>
    public UpgradeChannel(Socket connectedUnixSocket)
    {
        ArgumentNullException.ThrowIfNull(connectedUnixSocket);
        if (connectedUnixSocket.AddressFamily != AddressFamily.Unix || connectedUnixSocket.SocketType != SocketType.Stream)
            throw new ArgumentException(
                $"the upgrade channel needs a Unix stream socket, not {connectedUnixSocket.AddressFamily}/{connectedUnixSocket.SocketType}",
                nameof(connectedUnixSocket));
        _socket = connectedUnixSocket;
    }

    // ---- predecessor side ----

    /// <summary>
    /// Hands the listening sockets over. <paramref name="fds"/> must be in the order of
    /// <see cref="HandoffHeader.Addresses"/>; they stay open here (the successor receives duplicates).
    /// </summary>
    /// <param name="timeout">How long a full socket buffer may block the send; the default is
    /// <see cref="FdPassing.DefaultSendTimeout"/>. The frame is far smaller than a Unix socket buffer, so in practice
    /// the send completes at once.</param>
    public Task SendListenersAsync(HandoffHeader header, ReadOnlyMemory<int> fds, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ThrowIfDisposed();
        if (header.Addresses.Count != fds.Length)
            throw new ArgumentException(
                $"the header names {header.Addresses.Count} address(es) but {fds.Length} fd(s) were given", nameof(fds));
        try
        {
            // sendmsg is the only way to attach the fds; it waits (bounded) only if the buffer is full.
            FdPassing.Send(_socket, EncodeFrame(FrameKind.Listeners, header.Encode()), fds.Span, timeout);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    /// <summary>
    /// Waits for the successor's answer. Never throws for a closed or silent peer: those are
    /// <see cref="SuccessorReply.PeerClosed"/> and <see cref="SuccessorReply.TimedOut"/>.
    /// </summary>
    /// <exception cref="UpgradeProtocolException">The successor sent something other than Ready or Failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SuccessorReply> ReceiveReplyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Frame frame;
        try
        {
            frame = await ReceiveFrameAsync(timeout, "a Ready or Failed reply", cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            return new SuccessorReply.PeerClosed();
        }
        catch (TimeoutException)
        {
            return new SuccessorReply.TimedOut();
        }

        RejectFds(frame);
        return frame.Kind switch
        {
            FrameKind.Ready when frame.Body.Length == 0 => new SuccessorReply.Ready(),
            FrameKind.Ready => throw Violation($"a Ready frame must be empty, this one has {frame.Body.Length} byte(s)"),
            FrameKind.Failed => new SuccessorReply.Failed(DecodeReason(frame.Body)),
            _ => throw Unexpected(frame, "a Ready or Failed reply"),
        };
    }

    /// <summary>Tells the successor that this process stops accepting now and drains: the successor owns the listeners.</summary>
    public Task SendCommitAsync(CancellationToken cancellationToken = default) =>
        SendFrameAsync(FrameKind.Commit, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>
    /// After the commit: waits for the successor to release this process (<see cref="SuccessorEnd.Released"/>: it
    /// ends on purpose), or for the connection to close without that (<see cref="SuccessorEnd.Died"/>). A stopped or
    /// hung successor keeps the connection open, so it is never taken for a dead one.
    /// </summary>
    public async Task<SuccessorEnd> ReceiveReleaseAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Frame frame;
        try
        {
            frame = await ReceiveFrameAsync(timeout, "Released", cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            return new SuccessorEnd.Died();
        }
        catch (TimeoutException)
        {
            return new SuccessorEnd.Unwatched($"it was watched for {timeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return new SuccessorEnd.Unwatched(e.Message);
        }
        if (frame.Fds.Length > 0) Fds.CloseAll(frame.Fds);
        return frame.Kind is FrameKind.Released && frame.Body.Length == 0 && frame.Fds.Length == 0
            ? new SuccessorEnd.Released()
            : new SuccessorEnd.Unwatched($"upgrade protocol violation: expected Released, got a frame of kind {(byte)frame.Kind}");
    }

    // ---- successor side ----

    /// <summary>
    /// Receives the listening sockets. The caller owns the returned fds (open, FD_CLOEXEC set, in the order of
    /// <see cref="HandoffHeader.Addresses"/>) and must close them with libc close when it no longer uses them.
    /// If the header is rejected, the fds that came with it are closed before the exception leaves.
    /// </summary>
    /// <exception cref="EndOfStreamException">The predecessor closed the connection first.</exception>
    /// <exception cref="TimeoutException">Nothing complete arrived within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidDataException">The header was rejected (see <see cref="HandoffHeader.Decode"/>).</exception>
    /// <exception cref="UpgradeProtocolException">The predecessor sent a different frame.</exception>
    public async Task<(HandoffHeader Header, int[] Fds)> ReceiveListenersAsync(
        TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var frame = await ReceiveFrameAsync(timeout, "the Listeners message", cancellationToken).ConfigureAwait(false);
        try
        {
            if (frame.Kind != FrameKind.Listeners) throw Unexpected(frame, "the Listeners message");
            return (HandoffHeader.Decode(frame.Body, frame.Fds.Length), frame.Fds);
        }
        catch
        {
            Fds.CloseAll(frame.Fds);
            throw;
        }
    }

    /// <summary>Tells the predecessor that this process now accepts on every listener it received.</summary>
    public Task SendReadyAsync(CancellationToken cancellationToken = default) =>
        SendFrameAsync(FrameKind.Ready, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>After the commit: tells the predecessor that this process ends on purpose (SIGTERM, SIGINT, or its own
    /// upgrade committed), so that it does not take the listeners back when the connection closes.</summary>
    public Task SendReleasedAsync(CancellationToken cancellationToken = default) =>
        SendFrameAsync(FrameKind.Released, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>Tells the predecessor that this process cannot take over, and why (cut to <see cref="MaxReasonLength"/>).</summary>
    public Task SendFailedAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (reason.Length > MaxReasonLength)
        {
            var cut = MaxReasonLength;
            if (char.IsHighSurrogate(reason[cut - 1])) cut--; // never split a surrogate pair into invalid UTF-16
            reason = reason[..cut] + " …(truncated)";
        }
        return SendFrameAsync(FrameKind.Failed, Encoding.UTF8.GetBytes(reason), cancellationToken);
    }

    /// <summary>
    /// Waits for the predecessor to commit. A predecessor that closes the connection instead has abandoned the
    /// upgrade, and that is <see cref="CommitDecision.Aborted"/>, as is a silent one.
    /// </summary>
    /// <exception cref="UpgradeProtocolException">The predecessor sent something other than Commit.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<CommitDecision> ReceiveCommitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Frame frame;
        try
        {
            frame = await ReceiveFrameAsync(timeout, "Commit", cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            return new CommitDecision.Aborted(AbortCause.PeerClosed);
        }
        catch (TimeoutException)
        {
            return new CommitDecision.Aborted(AbortCause.TimedOut);
        }

        RejectFds(frame);
        return frame.Kind switch
        {
            FrameKind.Commit when frame.Body.Length == 0 => new CommitDecision.Committed(),
            FrameKind.Commit => throw Violation($"a Commit frame must be empty, this one has {frame.Body.Length} byte(s)"),
            _ => throw Unexpected(frame, "Commit"),
        };
    }

    /// <summary>Closes the socket. For a predecessor that has not committed, this is the abort.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _socket.Dispose();
    }

    // ---- frames ----

    private static byte[] EncodeFrame(FrameKind kind, ReadOnlySpan<byte> body)
    {
        if (1 + body.Length > MaxFrameLength)
            throw new ArgumentException($"a {kind} frame of {1 + body.Length} bytes exceeds {MaxFrameLength}");
        var frame = new byte[PrefixLength + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(1 + body.Length));
        frame[4] = (byte)kind;
        body.CopyTo(frame.AsSpan(PrefixLength));
        return frame;
    }

    private async Task SendFrameAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var frame = EncodeFrame(kind, body.Span);
        try
        {
            for (var sent = 0; sent < frame.Length;)
                sent += await _socket.SendAsync(frame.AsMemory(sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"sending {kind} on the upgrade channel failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads one whole frame. Throws <see cref="EndOfStreamException"/> when the peer closed or reset the connection
    /// and <see cref="TimeoutException"/> when <paramref name="timeout"/> ran out; any fds read before a failure
    /// are closed.
    /// </summary>
    private async Task<Frame> ReceiveFrameAsync(TimeSpan timeout, string expecting, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (_receiveBroken is not null)
            throw new InvalidOperationException($"the upgrade channel cannot be read any more: {_receiveBroken}");
        if (timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "every wait in the handoff is bounded: give a positive timeout");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var fds = new List<int>();
        _midFrame = false;
        try
        {
            var prefix = new byte[PrefixLength];
            var got = await ReadExactlyAsync(prefix, fds, deadline.Token).ConfigureAwait(false);
            if (got == 0)
                throw new EndOfStreamException($"the peer closed the upgrade channel while this process waited for {expecting}");
            if (got < PrefixLength)
                throw new EndOfStreamException($"the peer closed the upgrade channel after {got} byte(s) of a frame header");

            var length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
            if (length is 0 or > MaxFrameLength)
                throw Violation($"frame length {length} is outside 1..{MaxFrameLength}");
            var body = new byte[length - 1];
            got = await ReadExactlyAsync(body, fds, deadline.Token).ConfigureAwait(false);
            if (got < body.Length)
                throw new EndOfStreamException(
                    $"the peer closed the upgrade channel after {got} of {body.Length} byte(s) of a frame body");

            return new Frame((FrameKind)prefix[4], body, fds.ToArray());
        }
        catch (Exception e)
        {
            Fds.CloseAll(fds.ToArray());
            if (_midFrame && e is not EndOfStreamException)
                _receiveBroken = $"a receive stopped part-way through a frame ({e.GetType().Name}: {e.Message})";
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new TimeoutException(
                    $"no {expecting} arrived within {timeout.TotalMilliseconds:0} ms; the connection is still open");
            throw;
        }
    }

    /// <returns>The number of bytes read: less than <paramref name="destination"/>'s length only at end of stream.</returns>
    private async Task<int> ReadExactlyAsync(Memory<byte> destination, List<int> fds, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < destination.Length)
        {
            ReceivedChunk chunk;
            try
            {
                chunk = await FdPassing.ReceiveAsync(_socket, destination[total..], cancellationToken).ConfigureAwait(false);
            }
            catch (NativeCallException e) when (e.Errno == Errno.ECONNRESET)
            {
                // Linux resets, rather than ends, the stream when the peer closes with bytes it never read, as a
                // predecessor does when it gave up before the successor's late Ready arrived. Either way: gone.
                throw new EndOfStreamException("the peer closed the upgrade channel (connection reset)", e);
            }
            fds.AddRange(chunk.Fds);
            if (chunk.IsEndOfStream) return total;
            total += chunk.BytesRead;
            _midFrame = true;
        }
        return total;
    }

    private static void RejectFds(Frame frame)
    {
        if (frame.Fds.Length == 0) return;
        Fds.CloseAll(frame.Fds);
        throw Violation($"{frame.Fds.Length} fd(s) arrived with a {frame.Kind} frame, which must carry none; they were closed");
    }

    private static UpgradeProtocolException Unexpected(Frame frame, string expecting) =>
        Violation(Enum.IsDefined(frame.Kind)
            ? $"expected {expecting}, got a {frame.Kind} frame"
            : $"expected {expecting}, got a frame of unknown kind {(byte)frame.Kind}");

    private static UpgradeProtocolException Violation(string message) =>
        new($"upgrade protocol violation: {message}");

    private static string DecodeReason(byte[] body)
    {
        // Replacement characters, not an exception: a garbled reason is still a failure report.
        return Encoding.UTF8.GetString(body);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
