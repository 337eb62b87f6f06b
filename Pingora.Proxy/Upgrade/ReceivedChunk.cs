namespace Pingora.Proxy.Upgrade;

/// <summary>
/// What one recvmsg delivered: <see cref="BytesRead"/> bytes at the start of the caller's buffer, and the fds that
/// rode with them, already open in this process with FD_CLOEXEC set. The receiver owns those fds and must close
/// them (libc close) unless it hands them on.
/// </summary>
public readonly record struct ReceivedChunk(int BytesRead, int[] Fds)
{
    /// <summary>The peer shut down its sending side (or closed) and every byte it sent has been read.</summary>
    public bool IsEndOfStream => BytesRead == 0;
}
