using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Counts how many times HttpClient sent one request's headers. SocketsHttpHandler re-sends a request on a new
/// connection by itself when the server says it did not process it (an HTTP/2 stream above GOAWAY's last stream id,
/// a keep-alive connection closed while idle), and tells only its telemetry: System.Net.Http's RequestHeadersStart,
/// written on the request's own async flow, so an AsyncLocal set before SendAsync names the request it belongs to.
/// </summary>
public sealed class HttpAttempts : EventListener
{
    private static readonly AsyncLocal<StrongBox<int>?> Current = new();

    // One listener for the process: each listener sees every event, so a second one would count every attempt twice.
    private static readonly HttpAttempts Listener = new();

    private HttpAttempts() { }

    /// <summary>Call right before SendAsync, on the same flow; the box then counts header sends (attempts).</summary>
    public static StrongBox<int> Begin()
    {
        GC.KeepAlive(Listener);
        var box = new StrongBox<int>();
        Current.Value = box;
        return box;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "System.Net.Http") EnableEvents(eventSource, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName == "RequestHeadersStart" && Current.Value is { } box) Interlocked.Increment(ref box.Value);
    }
}
