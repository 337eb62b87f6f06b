using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Pingora.Proxy.AccessLog;

/// <summary>Formats an entry into this thread's reused buffer and appends it to the file as one write.</summary>
public sealed partial class AccessLogWriter(AccessLogFile file, AccessLogFormat format, ILogger<AccessLogWriter> log)
{
    // Lines are short; a buffer that grew for a huge one (a long URL) is dropped rather than kept by the thread.
    private const int KeptCapacity = 16 * 1024;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    // Made once: a lambda written at the call would capture log and file, a new closure for every line.
    private readonly Action<Exception> _onFailure = e => WriteFailed(log, file.Path, file.Failed, e.Message);

    public AccessLogFile File => file;

    public void Write(in AccessLogEntry entry)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (format == AccessLogFormat.Json) JsonFormatter.Format(entry, buffer);
        else CombinedFormatter.Format(entry, buffer);
        file.Write(buffer.WrittenSpan, _onFailure);
        if (buffer.Capacity > KeptCapacity) t_buffer = null;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "access_log {Path}: cannot write ({Failed} lines lost so far): {Reason}")]
    private static partial void WriteFailed(ILogger logger, string path, long failed, string reason);
}
