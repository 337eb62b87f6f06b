using Pingora.Proxy.Limits;
using Pingora.Proxy.Policies;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>A whole, validated configuration file: server keys, listeners and YARP's routes and clusters.</summary>
public sealed class PingoraConfig
{
    public required string FilePath { get; init; }
    public required ServerConf Server { get; init; }
    public required IReadOnlyList<ListenerConf> Listeners { get; init; }
    public required IReadOnlyList<RouteConfig> Routes { get; init; }
    public required IReadOnlyList<ClusterConfig> Clusters { get; init; }
    /// <summary>The <c>Kestrel</c> section: Kestrel's server limits, Kestrel's defaults where the file is silent.</summary>
    public KestrelConf Kestrel { get; init; } = new();
    /// <summary>The named route policies (RateLimiter, RequestTimeouts, OutputCache, Cors sections).</summary>
    public PolicyConf Policies { get; init; } = new();
}
