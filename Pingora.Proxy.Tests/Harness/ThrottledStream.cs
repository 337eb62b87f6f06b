namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A read-only wrapper that reads at most <c>maxReadBytes</c> at a time and pauses before each read: a slow client.
/// A slow reader keeps the server's socket buffers full until the end of the response, which is exactly when an
/// abortive close (SO_LINGER 0 inherited from a poisoned listener) throws the unsent tail away.
/// </summary>
public sealed class ThrottledStream(Stream inner, int maxReadBytes, TimeSpan pauseBeforeRead) : Stream
{
    public long BytesRead { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (pauseBeforeRead > TimeSpan.Zero) await Task.Delay(pauseBeforeRead, cancellationToken);
        var n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, maxReadBytes)], cancellationToken);
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("the throttled stream is read asynchronously only");

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
