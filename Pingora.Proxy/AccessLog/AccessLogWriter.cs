using System.Buffers;

namespace Pingora.Proxy.AccessLog;

/// <summary>Formats an entry into this thread's reused buffer and hands the line to the <see cref="AccessLogBuffer"/>.</summary>
public sealed class AccessLogWriter(AccessLogBuffer log, AccessLogFormat format)
{
    // Lines are short; a buffer that grew for a huge one (a long URL) is dropped rather than kept by the thread.
    private const int KeptCapacity = 16 * 1024;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    public void Write(in AccessLogEntry entry)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (format == AccessLogFormat.Json) JsonFormatter.Format(entry, buffer);
        else CombinedFormatter.Format(entry, buffer);
        log.Write(buffer.WrittenSpan);
        if (buffer.Capacity > KeptCapacity) t_buffer = null;
    }
}
