using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;

namespace Pingora.Proxy.Policies;

/// <summary>The <c>OutputCache</c> section: the cache's limits (OutputCacheOptions' keys) and named policies.</summary>
public sealed class OutputCacheConf
{
    public long? SizeLimit { get; set; }
    public long? MaximumBodySize { get; set; }
    public bool? UseCaseSensitivePaths { get; set; }
    public Dictionary<string, OutputCachePolicyConf>? Policies { get; set; }
}

/// <summary>
/// One policy, in the terms of OutputCachePolicyBuilder. Like ASP.NET Core's default it caches only 200 responses to
/// GET and HEAD without an Authorization header, and never a response that sets a cookie.
/// </summary>
public sealed class OutputCachePolicyConf
{
    /// <summary>How long an entry is served; ASP.NET Core's default is 60 s.</summary>
    public TimeSpan? Expire { get; set; }
    /// <summary>Query parameters that make distinct entries; <c>*</c> for all. By default every query parameter does.</summary>
    public List<string>? VaryByQuery { get; set; }
    /// <summary>Request headers that make distinct entries.</summary>
    public List<string>? VaryByHeader { get; set; }
    /// <summary>Whether the Host makes distinct entries (default true).</summary>
    public bool? VaryByHost { get; set; }
    /// <summary>One request fills an expired entry while the identical ones wait for it (default true).</summary>
    public bool? Locking { get; set; }
    /// <summary>false: the policy caches nothing (a route that must not be cached under a cached prefix).</summary>
    public bool? Cache { get; set; }
}

/// <summary>Registers the section with ASP.NET Core's output caching (AddOutputCache).</summary>
internal static class OutputCaching
{
    public static void AddPolicies(IServiceCollection services, OutputCacheConf conf)
    {
        services.AddOutputCache(options =>
        {
            if (conf.SizeLimit is { } size) options.SizeLimit = size;
            if (conf.MaximumBodySize is { } body) options.MaximumBodySize = body;
            if (conf.UseCaseSensitivePaths is { } caseSensitive) options.UseCaseSensitivePaths = caseSensitive;
            foreach (var (name, policy) in conf.Policies ?? [])
                options.AddPolicy(name, builder => Configure(builder, policy));
        });
    }

    private static void Configure(OutputCachePolicyBuilder builder, OutputCachePolicyConf policy)
    {
        if (policy.Expire is { } expire) builder.Expire(expire);
        if (policy.VaryByQuery is { } query) builder.SetVaryByQuery(query.ToArray());
        if (policy.VaryByHeader is { } headers) builder.SetVaryByHeader(headers.ToArray());
        if (policy.VaryByHost is { } host) builder.SetVaryByHost(host);
        if (policy.Locking is { } locking) builder.SetLocking(locking);
        if (policy.Cache == false) builder.NoCache();
    }
}
