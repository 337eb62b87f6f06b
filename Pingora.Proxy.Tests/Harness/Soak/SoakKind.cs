namespace Pingora.Proxy.Tests.Harness;

/// <summary>The kinds of traffic the soak runs besides <see cref="LoadClient"/>'s keep-alive and new-connection
/// requests (issue 15's list).</summary>
public enum SoakKind
{
    H2c,
    H2Tls,
    WebSocket,
    Download,
    Upload,
    SlowUpstream,
    ServerSentEvents,
}

public static class SoakKinds
{
    public static string Label(SoakKind kind) => kind switch
    {
        SoakKind.H2c => "h2c",
        SoakKind.H2Tls => "h2-tls",
        SoakKind.WebSocket => "websocket",
        SoakKind.Download => "download-8mb-slow-reader",
        SoakKind.Upload => "upload-8mb",
        SoakKind.SlowUpstream => "slow-upstream-2s",
        _ => "sse",
    };
}
