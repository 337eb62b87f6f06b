namespace Pingora.Proxy.Logging;

/// <summary>
/// Holds what Serilog's StreamWriter writes until it flushes (once per event, the sink being unbuffered), then
/// passes it on in one Write. The StreamWriter alone pushes an event out in pieces of its 1024-character buffer, and
/// the FileStream below flushes its own 4 KB buffer when a piece does not fit: a long event (a stack trace) would
/// reach the file as several write(2) calls, and the other process's lines could land between them.
/// </summary>
internal sealed class WholeEventStream(Stream inner) : Stream
{
    private readonly MemoryStream _pending = new();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => _pending.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _pending.Write(buffer);

    public override void Flush()
    {
        if (_pending.Length == 0) return;
        try
        {
            // One Write into an empty FileStream buffer: a short event is copied there and leaves in the Flush, a
            // long one goes straight to the file; either way a single pwrite(2).
            inner.Write(_pending.GetBuffer(), 0, (int)_pending.Length);
            inner.Flush();
        }
        finally
        {
            // A failed write (full disk) drops this event rather than growing the buffer for the next one.
            _pending.SetLength(0);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try { Flush(); }
            finally { inner.Dispose(); }
        }
        base.Dispose(disposing);
    }
}
