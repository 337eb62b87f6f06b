namespace Pingora.Proxy.Upgraded;

/// <summary>
/// The client side of a proxied WebSocket, as YARP copies it: what YARP writes goes to the client (frames from the
/// upstream, unmasked), what it reads goes to the upstream (frames from the client, masked). Both directions are
/// followed frame by frame, so that <see cref="RequestClose"/> can end the connection the way RFC 6455 §7 wants:
/// a close frame 1001 to the client at a frame boundary, a masked close frame to the upstream at a boundary of the
/// other direction (YARP then closes the upstream with FIN once it replies), and the client's own close frame read
/// before the stream ends, so that nothing of it is left unread when the socket closes (unread bytes make it RST).
/// </summary>
public sealed class ClosableWebSocketStream(Stream client) : Stream
{
    /// <summary>How long, after the upstream got its close frame, the client has to answer ours.</summary>
    public static readonly TimeSpan ClientCloseWait = TimeSpan.FromSeconds(1);

    private readonly WebSocketFrameFollower _toClient = new();
    private readonly WebSocketFrameFollower _fromClient = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _clientCloseSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closeRequested;
    private ReadPhase _read;
    private byte[]? _upstreamClose;
    private int _upstreamCloseOffset;

    private enum ReadPhase { Relaying, SendingUpstreamClose, AwaitingClientClose, Ended }

    /// <summary>Completes once the client has been sent the close frame (or the connection ended before that could be).</summary>
    public Task ClientCloseSent => _clientCloseSent.Task;

    public bool CloseRequested => Volatile.Read(ref _closeRequested) != 0;

    /// <summary>Starts the close; returns at once. Idempotent.</summary>
    public void RequestClose()
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0) return;
        _closing.Cancel(); // wakes a read waiting on the client, which then hands the upstream its close frame
        _ = InjectClientCloseAsync();
    }

    private async Task InjectClientCloseAsync()
    {
        try
        {
            await _writeLock.WaitAsync();
        }
        catch (ObjectDisposedException)
        {
            _clientCloseSent.TrySetResult();
            return;
        }
        try
        {
            // In the middle of a frame, the write that completes it sends the close (see WriteAsync).
            if (_toClient.AtBoundary || _toClient.SawClose || _toClient.Lost) await SendClientCloseLockedAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            _clientCloseSent.TrySetResult(); // the client is gone already
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Our close frame, unless the upstream's own close already went to the client (then the handshake is theirs).</summary>
    private async Task SendClientCloseLockedAsync(CancellationToken cancellationToken)
    {
        if (_clientCloseSent.Task.IsCompleted) return;
        if (!_toClient.SawClose && !_toClient.Lost)
        {
            await client.WriteAsync(WebSocketClose.ToClient(), cancellationToken);
            await client.FlushAsync(cancellationToken);
        }
        _clientCloseSent.TrySetResult();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            // After our close frame, what the upstream sends (its answering close frame) is not for the client.
            if (_clientCloseSent.Task.IsCompleted) return;
            if (!CloseRequested || _toClient.SawClose || _toClient.Lost)
            {
                _toClient.Follow(buffer.Span);
                await client.WriteAsync(buffer, cancellationToken);
                return;
            }
            var upToBoundary = _toClient.Follow(buffer.Span, stopAtBoundary: true);
            if (upToBoundary > 0) await client.WriteAsync(buffer[..upToBoundary], cancellationToken);
            if (_toClient.AtBoundary) await SendClientCloseLockedAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            switch (_read)
            {
                case ReadPhase.Ended:
                    return 0;
                case ReadPhase.SendingUpstreamClose:
                    if (buffer.Length == 0) return 0; // YARP's zero-byte read: data is ready
                    var n = Math.Min(buffer.Length, _upstreamClose!.Length - _upstreamCloseOffset);
                    _upstreamClose.AsMemory(_upstreamCloseOffset, n).CopyTo(buffer);
                    _upstreamCloseOffset += n;
                    if (_upstreamCloseOffset == _upstreamClose.Length) _read = ReadPhase.AwaitingClientClose;
                    return n;
                case ReadPhase.AwaitingClientClose:
                    await ReadClientCloseAsync();
                    _read = ReadPhase.Ended;
                    return 0;
            }

            if (CloseRequested && (_fromClient.AtBoundary || _fromClient.SawClose || _fromClient.Lost))
            {
                if (_fromClient.SawClose || _fromClient.Lost)
                {
                    // The client began the close itself (the upstream has its frame), or frames are lost: nothing to add.
                    _read = ReadPhase.AwaitingClientClose;
                    continue;
                }
                _upstreamClose = WebSocketClose.ToServer();
                _read = ReadPhase.SendingUpstreamClose;
                continue;
            }

            int read;
            try
            {
                // Mid-frame after the close was requested, the read goes on to the frame's end: only YARP may stop it.
                using var wake = CloseRequested ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
                read = await client.ReadAsync(buffer, wake?.Token ?? cancellationToken);
            }
            catch (OperationCanceledException) when (_closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                continue; // the close was requested while waiting: at a boundary now, or read on to the next one
            }
            if (buffer.Length == 0) return 0;
            if (read == 0)
            {
                _read = ReadPhase.Ended;
                return 0;
            }
            if (!CloseRequested)
            {
                _fromClient.Follow(buffer.Span[..read]);
                return read;
            }
            var upToBoundary = _fromClient.Follow(buffer.Span[..read], stopAtBoundary: true);
            // The rest came after the point where the upstream is told the client goes away: not relayed, but
            // followed, in case it holds the client's own close frame.
            _fromClient.Follow(buffer.Span[upToBoundary..read]);
            if (upToBoundary > 0) return upToBoundary;
        }
    }

    /// <summary>Reads (and drops) what the client sends until its close frame has come, it hung up, or the wait ran out.</summary>
    private async Task ReadClientCloseAsync()
    {
        using var wait = new CancellationTokenSource(ClientCloseWait);
        var scratch = new byte[256];
        try
        {
            // Our close frame must be on its way before the client's answer can be awaited.
            await _clientCloseSent.Task.WaitAsync(wait.Token);
            while (!_fromClient.SawClose && !_fromClient.Lost)
            {
                var read = await client.ReadAsync(scratch, wait.Token);
                if (read == 0) return;
                _fromClient.Follow(scratch.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Out of time or connection gone: the stream ends either way.
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => client.FlushAsync(cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // YARP and Kestrel copy upgraded streams asynchronously only (Kestrel refuses synchronous I/O by default).
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous read");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous write");
    public override void Flush() { }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _clientCloseSent.TrySetResult();
            client.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _clientCloseSent.TrySetResult();
        await client.DisposeAsync();
        await base.DisposeAsync();
    }
}
