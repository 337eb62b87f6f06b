using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Pingora.Proxy.Http2Drain;

/// <summary>
/// The client-to-server bytes of an HTTP/2 connection, as Kestrel reads them, with one addition: <see cref="Wake"/>
/// hands Kestrel a frame of an unknown type (which RFC 9113 §4.1 says to ignore) at the next frame boundary. Kestrel
/// decides whether a gracefully closing connection has no stream left, sends its final GOAWAY and closes, only after
/// it has read something; a client with nothing more to send would hold the connection open until the drain's
/// deadline, then be reset. The frame is that something.
/// </summary>
public sealed class WakeablePipeReader(PipeReader inner) : PipeReader
{
    // Length 0, type 0xFA (unassigned), no flags, stream 0.
    private static readonly ReadOnlySequence<byte> WakeFrame = new(new byte[] { 0, 0, 0, 0xFA, 0, 0, 0, 0, 0 });

    private readonly Http2FrameFollower _frames = new();
    private ReadOnlySequence<byte> _lastRead;
    private bool _handedWakeFrame;
    private int _wakeRequested;
    private int _cancelPending; // ours, not yet seen by a read: that read's cancel is not passed on

    /// <summary>Asks for the frame; harmless at any time, and idempotent until it has been read.</summary>
    public void Wake()
    {
        if (_frames.NotHttp2 || Interlocked.Exchange(ref _wakeRequested, 1) != 0) return;
        Volatile.Write(ref _cancelPending, 1);
        inner.CancelPendingRead();
    }

    public bool IsHttp2 => !_frames.NotHttp2;

    /// <summary>The client's whole preface has been read: an HTTP/2 connection, past its start.</summary>
    public bool PrefaceSeen => _frames.PrefaceSeen;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        // Every read of every HTTP/2 connection comes through here: hand the inner read on untouched when it has
        // already completed with data, and keep the state machine (pooled, as Kestrel's own readers) for the rest.
        if (Volatile.Read(ref _wakeRequested) == 0)
        {
            var pending = inner.ReadAsync(cancellationToken);
            if (!pending.IsCompletedSuccessfully) return ReadSlowAsync(pending, cancellationToken);
            // Taken once: a ValueTask may be backed by the pipe itself, whose result can be read only once.
            var result = pending.Result;
            if (!result.IsCanceled)
            {
                _lastRead = result.Buffer;
                return new ValueTask<ReadResult>(result);
            }
            return ReadSlowAsync(new ValueTask<ReadResult>(result), cancellationToken);
        }
        return ReadSlowAsync(null, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadSlowAsync(ValueTask<ReadResult>? started, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (started is null && TakeWake()) return new ReadResult(WakeFrame, isCanceled: false, isCompleted: false);
            var result = await (started ?? inner.ReadAsync(cancellationToken));
            started = null;
            // A cancel of ours ends the read with nothing; one of Kestrel's own (it stops reading) is passed on. Should
            // both come at once, Kestrel's copy loop stops at the next wake instead: its own reader is done by then.
            if (result.IsCanceled && !result.IsCompleted && Interlocked.Exchange(ref _cancelPending, 0) == 1)
            {
                if (!_frames.CanInsertFrame) Volatile.Write(ref _wakeRequested, 0); // mid-frame: the next wake tries again
                inner.AdvanceTo(result.Buffer.Start);
                continue;
            }
            _lastRead = result.Buffer;
            return result;
        }
    }

    private bool TakeWake()
    {
        if (Volatile.Read(ref _wakeRequested) == 0 || !_frames.CanInsertFrame) return false;
        Volatile.Write(ref _wakeRequested, 0);
        _handedWakeFrame = true;
        return true;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (TakeWake())
        {
            result = new ReadResult(WakeFrame, isCanceled: false, isCompleted: false);
            return true;
        }
        if (!inner.TryRead(out result)) return false;
        _lastRead = result.Buffer;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_handedWakeFrame)
        {
            // Kestrel copies whole reads; a frame of 9 bytes is taken at once.
            _handedWakeFrame = false;
            return;
        }
        if (!_frames.NotHttp2)
        {
            foreach (var segment in _lastRead.Slice(_lastRead.Start, consumed)) _frames.Follow(segment.Span);
        }
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}
