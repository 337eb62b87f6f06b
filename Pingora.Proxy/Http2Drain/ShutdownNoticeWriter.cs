using System.Buffers;
using System.IO.Pipelines;

namespace Pingora.Proxy.Http2Drain;

/// <summary>
/// The server-to-client bytes of an HTTP/2 connection, as Kestrel writes them, with one addition:
/// <see cref="SendShutdownNotice"/> adds a GOAWAY with the highest stream id (2^31-1, NO_ERROR) at the next frame
/// boundary. RFC 9113 §6.8 asks a server shutting down gracefully to send that first, and the final GOAWAY only a
/// round trip later, so that a request the client is sending meanwhile is still served. Kestrel sends the first one
/// only on a connection with a stream open; an idle connection gets the final GOAWAY and FIN at once, and a request
/// the client had just sent on it is lost (HttpClient does not retry it). With the notice, the client stops opening
/// streams on the connection before Kestrel's stop begins (see Drain/Drainer).
/// </summary>
public sealed class ShutdownNoticeWriter(PipeWriter inner) : PipeWriter
{
    // Length 8, type GOAWAY (0x7), no flags, stream 0; last stream id 2^31-1; error code NO_ERROR.
    private static readonly byte[] Notice = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

    private readonly Lock _gate = new();
    private readonly Http2FrameFollower _frames = new(clientPreface: false);
    private Memory<byte> _lent; // handed to Kestrel by GetMemory/GetSpan, not yet advanced
    private bool _wroteAny; // the server's preface (its SETTINGS) must be the first frame
    private bool _noticeWanted;
    private bool _completed; // Kestrel is done with the connection: nothing more may be written, nor needs to be
    private bool _noticeSent;
    // A pipe takes one flush at a time: ours waits for none of Kestrel's, and Kestrel's next one waits for ours.
    private bool _kestrelFlushing;
    private Task<FlushResult>? _ourFlush;

    /// <summary>Whether the notice has been written (and flushed, or about to go with Kestrel's next flush).</summary>
    public bool NoticeSent
    {
        get { lock (_gate) return _noticeSent; }
    }

    /// <summary>Asks for the notice; idempotent. Sent at once if Kestrel is between frames and not flushing; else
    /// right after the frame Kestrel writes next (a connection that is flushing is not idle: it writes again).</summary>
    public void SendShutdownNotice()
    {
        lock (_gate)
        {
            if (_noticeSent || _completed) return;
            _noticeWanted = true;
            if (_kestrelFlushing || !TryWriteNotice()) return;
            var flush = inner.FlushAsync();
            if (flush.IsCompleted) flush.GetAwaiter().GetResult();
            else _ourFlush = flush.AsTask();
        }
    }

    private bool TryWriteNotice()
    {
        if (!_noticeWanted || !_wroteAny || !_lent.IsEmpty || !_frames.CanInsertFrame) return false;
        inner.Write(Notice);
        _noticeWanted = false;
        _noticeSent = true;
        return true;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        lock (_gate) return _lent = inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        lock (_gate)
        {
            if (bytes > 0)
            {
                _frames.Follow(_lent.Span[..bytes]);
                _wroteAny = true;
            }
            _lent = default;
            inner.Advance(bytes);
            TryWriteNotice(); // goes out with Kestrel's flush of the frame it has just written
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_ourFlush is { IsCompleted: true }) _ourFlush = null;
            if (_ourFlush is { } ours) return FlushAfterAsync(ours, cancellationToken);
            var flush = inner.FlushAsync(cancellationToken);
            if (flush.IsCompleted) return flush;
            _kestrelFlushing = true;
            return TrackAsync(flush);
        }
    }

    private async ValueTask<FlushResult> TrackAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            return await flush;
        }
        finally
        {
            lock (_gate) _kestrelFlushing = false;
        }
    }

    private async ValueTask<FlushResult> FlushAfterAsync(Task<FlushResult> ours, CancellationToken cancellationToken)
    {
        try
        {
            await ours;
        }
        catch
        {
            // The connection is failing; Kestrel's own flush reports it.
        }
        lock (_gate) _ourFlush = null;
        return await FlushAsync(cancellationToken);
    }

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        lock (_gate) _completed = true;
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        lock (_gate) _completed = true;
        return inner.CompleteAsync(exception);
    }
}
