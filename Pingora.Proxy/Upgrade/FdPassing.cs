using System.Net.Sockets;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// Passing open fds between processes over a connected Unix stream socket (sendmsg/recvmsg with SCM_RIGHTS, through
/// Mono.Posix).
/// </summary>
/// <remarks>
/// Every call is made with MSG_DONTWAIT and waits for readiness itself, so it behaves the same whether .NET has
/// switched the socket to non-blocking mode or not (docs/platform.md, socket 6: a socket .NET touched returns EAGAIN),
/// and no wait is ever unbounded. Not safe for two concurrent senders or two concurrent receivers on one socket.
/// Mono.Posix translates the message flags both ways through its helper library; MSG_DONTWAIT, MSG_NOSIGNAL,
/// MSG_CMSG_CLOEXEC and MSG_CTRUNC all survive that (FdPassingTests check the last two), and errno is read once,
/// right after the call: nothing the wrapper does after the syscall overwrites the saved error.
/// </remarks>
public static class FdPassing
{
    /// <summary>Linux SCM_MAX_FD: sendmsg refuses a message with more fds (EINVAL).</summary>
    public const int MaxFdsPerMessage = 253;

    /// <summary>How long <see cref="Send"/> waits, in total, for a full socket buffer to drain when no timeout is given.</summary>
    public static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends <paramref name="payload"/> whole, with <paramref name="fds"/> attached to its first byte. The fds stay
    /// open in this process; the peer receives duplicates of them.
    /// </summary>
    /// <exception cref="NativeCallException">sendmsg or poll failed (EPIPE when the peer has closed, for example).</exception>
    /// <exception cref="TimeoutException">The socket buffer stayed full for longer than <paramref name="timeout"/>.</exception>
    public static unsafe void Send(Socket socket, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, TimeSpan? timeout = null)
    {
        RequireUnixSocket(socket);
        if (payload.IsEmpty)
            throw new ArgumentException(
                "fds need at least one payload byte to ride on: a zero-byte send on a stream socket delivers nothing (docs/platform.md, socket 6)",
                nameof(payload));
        if (fds.Length > MaxFdsPerMessage)
            throw new ArgumentException($"{fds.Length} fds exceed the kernel's limit of {MaxFdsPerMessage} per message", nameof(fds));
        foreach (var fd in fds)
            if (fd < 0) throw new ArgumentException($"{fd} is not an fd", nameof(fds));

        var limit = timeout ?? DefaultSendTimeout;
        if (limit < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), "every wait in the handoff is bounded: give a finite timeout");
        var deadline = DeadlineAfter(limit);

        var control = fds.IsEmpty ? null : RightsControl(fds);

        var handle = socket.SafeHandle;
        var addedRef = false;
        try
        {
            // The reference keeps the fd number from being closed and reused by a concurrent Dispose mid-call.
            handle.DangerousAddRef(ref addedRef);
            var sockfd = (int)handle.DangerousGetHandle();

            // Pinned for the whole loop: the kernel reads through iov_base (docs/platform.md, socket 6).
            fixed (byte* data = payload)
            {
                var iov = new Iovec[1];
                var msg = new Msghdr { msg_iov = iov, msg_iovlen = 1 };
                var sent = 0;
                while (sent < payload.Length)
                {
                    iov[0] = new Iovec { iov_base = (IntPtr)(data + sent), iov_len = (ulong)(payload.Length - sent) };
                    // The fds go with the first write that moves any bytes; a retry after EAGAIN sent nothing, so it
                    // carries them again, and a continuation after a partial write must not send them twice.
                    var withFds = sent == 0 && control is not null;
                    msg.msg_control = withFds ? control : null;
                    msg.msg_controllen = withFds ? control!.Length : 0;
                    // MSG_NOSIGNAL: a closed peer must surface as EPIPE here, not as a SIGPIPE for the process.
                    var n = Syscall.sendmsg(sockfd, msg, MessageFlags.MSG_NOSIGNAL | MessageFlags.MSG_DONTWAIT);
                    if (n < 0)
                    {
                        var errno = Stdlib.GetLastError(); // read once, before anything else can overwrite it
                        if (errno == Errno.EINTR) continue;
                        if (errno == Errno.EAGAIN)
                        {
                            WaitUntilReady(sockfd, PollEvents.POLLOUT, deadline, limit, "sendmsg");
                            continue;
                        }
                        throw new NativeCallException("sendmsg", errno);
                    }
                    if (n == 0)
                        throw new IOException("sendmsg accepted 0 bytes of a non-empty payload");
                    sent += (int)n;
                }
            }
        }
        finally
        {
            if (addedRef) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Receives what one recvmsg returns into <paramref name="buffer"/>, waiting up to <paramref name="timeout"/> for
    /// data. A stream socket may split a payload across calls: the fds arrive with the call that reads the first
    /// byte they were sent with.
    /// </summary>
    /// <param name="maxFds">How many fds the caller is prepared to take (at most <see cref="MaxFdsPerMessage"/>).
    /// If more arrive, the control data is truncated (MSG_CTRUNC): the fds that did arrive are closed and an
    /// <see cref="IOException"/> is thrown.</param>
    /// <exception cref="TimeoutException">Nothing arrived within <paramref name="timeout"/>.</exception>
    public static unsafe ReceivedChunk Receive(Socket socket, Span<byte> buffer, TimeSpan timeout, int maxFds = MaxFdsPerMessage)
    {
        RequireUnixSocket(socket);
        RequireReceiveArguments(buffer.Length, maxFds);
        if (timeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), "every wait in the handoff is bounded: give a finite timeout");
        var deadline = DeadlineAfter(timeout);

        var handle = socket.SafeHandle;
        var addedRef = false;
        try
        {
            handle.DangerousAddRef(ref addedRef);
            var sockfd = (int)handle.DangerousGetHandle();
            ReceivedChunk chunk;
            while (!TryReceive(sockfd, buffer, maxFds, out chunk))
                WaitUntilReady(sockfd, PollEvents.POLLIN, deadline, timeout, "recvmsg");
            return chunk;
        }
        finally
        {
            if (addedRef) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Like <see cref="Receive"/>, but waits for data without holding a thread; the wait ends only with data, end of
    /// stream, an error, or <paramref name="cancellationToken"/> (give it a timeout).
    /// </summary>
    public static async ValueTask<ReceivedChunk> ReceiveAsync(
        Socket socket, Memory<byte> buffer, CancellationToken cancellationToken, int maxFds = MaxFdsPerMessage)
    {
        RequireUnixSocket(socket);
        RequireReceiveArguments(buffer.Length, maxFds);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryReceive(socket, buffer.Span, maxFds, out var chunk))
                return chunk;
            try
            {
                // .NET turns a zero-byte receive into a one-byte MSG_PEEK once the socket is readable. A peek leaves
                // the data, and the SCM_RIGHTS riding on it, queued for the recvmsg above; a plain read would make
                // the kernel discard the fds.
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                throw new NativeCallException("recvmsg", Errno.ECONNRESET);
            }
            catch (SocketException e)
            {
                throw new IOException($"recvmsg: waiting for the socket to become readable failed: {e.Message}", e);
            }
        }
    }

    private static unsafe bool TryReceive(Socket socket, Span<byte> buffer, int maxFds, out ReceivedChunk chunk)
    {
        var handle = socket.SafeHandle;
        var addedRef = false;
        try
        {
            handle.DangerousAddRef(ref addedRef);
            return TryReceive((int)handle.DangerousGetHandle(), buffer, maxFds, out chunk);
        }
        finally
        {
            if (addedRef) handle.DangerousRelease();
        }
    }

    /// <returns>false when nothing is queued yet (EAGAIN).</returns>
    private static unsafe bool TryReceive(int sockfd, Span<byte> buffer, int maxFds, out ReceivedChunk chunk)
    {
        var control = new byte[Syscall.CMSG_SPACE((ulong)(maxFds * sizeof(int)))];

        // Pinned: the kernel writes through iov_base (docs/platform.md, socket 6).
        fixed (byte* data = buffer)
        {
            var msg = new Msghdr
            {
                msg_iov = [new Iovec { iov_base = (IntPtr)data, iov_len = (ulong)buffer.Length }],
                msg_iovlen = 1,
                msg_control = control,
            };
            while (true)
            {
                msg.msg_controllen = control.Length; // recvmsg sets it to what arrived
                // MSG_CMSG_CLOEXEC: the fds are installed close-on-exec atomically, so a child process started by any
                // thread in the meantime cannot inherit a listening socket (docs/platform.md, socket 6).
                var n = Syscall.recvmsg(sockfd, msg, MessageFlags.MSG_CMSG_CLOEXEC | MessageFlags.MSG_DONTWAIT);
                if (n < 0)
                {
                    var errno = Stdlib.GetLastError(); // read once, before anything else can overwrite it
                    if (errno == Errno.EINTR) continue;
                    if (errno == Errno.EAGAIN)
                    {
                        chunk = default;
                        return false;
                    }
                    throw new NativeCallException("recvmsg", errno);
                }

                var fds = ExtractRights(msg);
                if ((msg.msg_flags & MessageFlags.MSG_CTRUNC) != 0)
                {
                    // Some fds were dropped by the kernel (more than maxFds were sent, or RLIMIT_NOFILE was hit), so
                    // the set is incomplete and cannot be matched to its header. Close the ones that made it.
                    Fds.CloseAll(fds);
                    throw new IOException(
                        $"recvmsg: control data truncated (MSG_CTRUNC): the peer sent more than the {maxFds} fds expected, " +
                        $"or this process is at its open-file limit; the {fds.Length} fds that arrived were closed");
                }
                if (fds.Length > maxFds)
                {
                    // CMSG_SPACE rounds up to 8 bytes, so an odd maxFds leaves room for one fd more than asked for.
                    Fds.CloseAll(fds);
                    throw new IOException(
                        $"recvmsg: {fds.Length} fds arrived where at most {maxFds} were expected; they were closed");
                }
                chunk = new ReceivedChunk((int)n, fds);
                return true;
            }
        }
    }

    /// <summary>One SCM_RIGHTS control message carrying <paramref name="fds"/>.</summary>
    private static byte[] RightsControl(ReadOnlySpan<int> fds)
    {
        var dataLength = (ulong)(fds.Length * sizeof(int));
        var control = new byte[Syscall.CMSG_SPACE(dataLength)];
        var msg = new Msghdr { msg_control = control, msg_controllen = control.Length };
        var header = new Cmsghdr
        {
            cmsg_len = (long)Syscall.CMSG_LEN(dataLength),
            cmsg_level = UnixSocketProtocol.SOL_SOCKET,
            cmsg_type = UnixSocketControlMessage.SCM_RIGHTS,
        };
        header.WriteToBuffer(msg, 0);
        fds.CopyTo(MemoryMarshal.Cast<byte, int>(control.AsSpan((int)Syscall.CMSG_DATA(msg, 0))));
        return control;
    }

    /// <summary>Every fd in the SCM_RIGHTS messages of what recvmsg returned.</summary>
    private static int[] ExtractRights(Msghdr msg)
    {
        List<int>? fds = null;
        for (var offset = Syscall.CMSG_FIRSTHDR(msg); offset >= 0; offset = Syscall.CMSG_NXTHDR(msg, offset))
        {
            Cmsghdr header;
            try
            {
                header = Cmsghdr.ReadFromBuffer(msg, offset);
            }
            catch (ArgumentException)
            {
                continue; // a level or type Mono.Posix has no name for: not SCM_RIGHTS
            }
            var dataOffset = Syscall.CMSG_DATA(msg, offset);
            var end = offset + header.cmsg_len;
            // CMSG_FIRSTHDR does not check the first header's length against the buffer; CMSG_NXTHDR checks the rest.
            if (end < dataOffset || end > msg.msg_controllen) break;
            if (header.cmsg_level == UnixSocketProtocol.SOL_SOCKET && header.cmsg_type == UnixSocketControlMessage.SCM_RIGHTS)
            {
                var rights = MemoryMarshal.Cast<byte, int>(msg.msg_control.AsSpan((int)dataOffset, (int)(end - dataOffset)));
                fds ??= new List<int>(rights.Length);
                fds.AddRange(rights);
            }
        }
        return fds?.ToArray() ?? [];
    }

    private static void WaitUntilReady(int sockfd, PollEvents events, long deadline, TimeSpan limit, string call)
    {
        var pollFd = new Pollfd[1];
        while (true)
        {
            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
                throw new TimeoutException(
                    $"{call}: the Unix socket did not become {(events == PollEvents.POLLOUT ? "writable" : "readable")} within {limit.TotalMilliseconds:0} ms");
            pollFd[0] = new Pollfd { fd = sockfd, events = events };
            var ready = Syscall.poll(pollFd, 1, (int)Math.Min(remaining, int.MaxValue));
            // Readiness includes POLLERR and POLLHUP: the retried call then reports the error or the end of stream.
            if (ready > 0) return;
            if (ready == 0) continue;
            var errno = Stdlib.GetLastError();
            if (errno == Errno.EINTR) continue;
            throw new NativeCallException("poll", errno);
        }
    }

    private static long DeadlineAfter(TimeSpan timeout) =>
        Environment.TickCount64 + (long)Math.Ceiling(Math.Min(timeout.TotalMilliseconds, int.MaxValue));

    private static void RequireUnixSocket(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.AddressFamily != AddressFamily.Unix)
            throw new ArgumentException($"fds can only be passed over a Unix socket, not {socket.AddressFamily}", nameof(socket));
    }

    private static void RequireReceiveArguments(int bufferLength, int maxFds)
    {
        // A zero-length recvmsg would still consume the fds' message slot and lose them.
        if (bufferLength == 0)
            throw new ArgumentException("the receive buffer must hold at least one byte", "buffer");
        if (maxFds is < 0 or > MaxFdsPerMessage)
            throw new ArgumentOutOfRangeException(nameof(maxFds), maxFds, $"between 0 and {MaxFdsPerMessage}");
    }
}
