using System.Net;

namespace Pingora.Proxy.Tests.Harness;

public sealed class SoakTrafficOptions
{
    /// <summary>The plain HTTP/1.1 listener: WebSockets, downloads, uploads, slow responses, server-sent events.</summary>
    public required IPEndPoint Http1 { get; init; }

    /// <summary>A cleartext HTTP/2 (prior knowledge) listener, or null for no h2c traffic.</summary>
    public Uri? H2c { get; init; }

    /// <summary>A TLS listener offering h2, or null for no h2-over-TLS traffic.</summary>
    public Uri? H2Tls { get; init; }

    /// <summary>The TLS listener's certificate, pinned; null accepts any (the benchmark's throwaway one).</summary>
    public TestCertificate? PinnedCertificate { get; init; }

    /// <summary>Concurrent streams on each HTTP/2 connection (one connection per listener, as a browser keeps).</summary>
    public int H2Streams { get; init; } = 4;
    public int WebSockets { get; init; } = 2;
    public int Downloads { get; init; } = 1;
    public int Uploads { get; init; } = 1;
    public int SlowRequests { get; init; } = 2;
    public int EventStreams { get; init; } = 2;

    public int TransferBytes { get; init; } = 8 * 1024 * 1024;
    public TimeSpan SlowResponse { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan MessageInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The slow reader: at most this many bytes per read, each read after a pause.</summary>
    public int SlowReadBytes { get; init; } = 64 * 1024;
    public TimeSpan SlowReadPause { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Pause between one HTTP/2 stream's requests, so that the load leaves the daemons some CPU.</summary>
    public TimeSpan H2Pause { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Pause between one worker's 8 MB uploads: back to back they would take both cores of a small machine.</summary>
    public TimeSpan UploadPause { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bound of every request, and of the wait for each WebSocket echo and SSE event.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The traffic stops by itself after this long even if nobody stops it.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(30);
}
