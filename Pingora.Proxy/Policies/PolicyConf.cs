namespace Pingora.Proxy.Policies;

/// <summary>
/// The named route policies of the file: four top-level sections, each backed by an ASP.NET Core middleware that
/// runs only while some route uses it. Routes reference the policies by YARP's own keys
/// (<c>RateLimiterPolicy</c>, <c>TimeoutPolicy</c>/<c>Timeout</c>, <c>OutputCachePolicy</c>, <c>CorsPolicy</c>).
/// </summary>
public sealed class PolicyConf
{
    public RateLimiterConf? RateLimiter { get; set; }
    public RequestTimeoutsConf? RequestTimeouts { get; set; }
    public OutputCacheConf? OutputCache { get; set; }
    public CorsConf? Cors { get; set; }
}
