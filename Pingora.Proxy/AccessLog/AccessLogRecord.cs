using System.Diagnostics;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// What the access log learns about a request while it runs, kept in the request's features: the middleware starts
/// it, <see cref="UpstreamTiming"/> adds the upstream's part, the middleware writes the line at the end.
/// </summary>
internal sealed class AccessLogRecord(long startTimestamp, string requestId)
{
    public long StartTimestamp { get; } = startTimestamp;
    public string RequestId { get; } = requestId;

    /// <summary>When the request left for the upstream (Stopwatch ticks), 0 if it never did.</summary>
    public long UpstreamStart { get; set; }
    public long UpstreamEnd { get; set; }
    public int? UpstreamStatus { get; set; }

    public TimeSpan? UpstreamTime(long end) =>
        UpstreamStart == 0 ? null : Stopwatch.GetElapsedTime(UpstreamStart, UpstreamEnd != 0 ? UpstreamEnd : end);
}
