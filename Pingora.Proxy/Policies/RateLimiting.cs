using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Pingora.Proxy.Policies;

/// <summary>The <c>RateLimiter</c> section: named limiters for routes' <c>RateLimiterPolicy</c>.</summary>
public sealed class RateLimiterConf
{
    /// <summary>The status of a rejected request; ASP.NET Core's own default is 503, Pingora users expect 429.</summary>
    public int RejectionStatusCode { get; set; } = StatusCodes.Status429TooManyRequests;
    public Dictionary<string, RateLimitPolicyConf>? Policies { get; set; }
}

/// <summary>One limiter: what it partitions by and exactly one kind, whose keys are its options class's properties.</summary>
public sealed class RateLimitPolicyConf
{
    /// <summary><c>ClientAddress</c> (default), <c>Header:NAME</c>, or <c>None</c> (one limiter for everyone).</summary>
    public string? PartitionBy { get; set; }
    public FixedWindowRateLimiterOptions? FixedWindow { get; set; }
    public SlidingWindowRateLimiterOptions? SlidingWindow { get; set; }
    public TokenBucketRateLimiterOptions? TokenBucket { get; set; }
    public ConcurrencyLimiterOptions? Concurrency { get; set; }
}

/// <summary>Registers the section's policies with ASP.NET Core's rate limiting (AddRateLimiter).</summary>
internal static class RateLimiting
{
    public const string ClientAddress = "ClientAddress";
    public const string None = "None";
    public const string HeaderPrefix = "Header:";

    public static void AddPolicies(IServiceCollection services, RateLimiterConf conf)
    {
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = conf.RejectionStatusCode;
            options.OnRejected = (rejected, _) =>
            {
                // Fixed and sliding windows and token buckets know when a permit comes back; a concurrency limiter does not.
                if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                    rejected.HttpContext.Response.Headers.RetryAfter =
                        ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ValueTask.CompletedTask;
            };
            foreach (var (name, policy) in conf.Policies ?? [])
            {
                var partitionKey = PartitionKey(policy.PartitionBy);
                options.AddPolicy(name, context => Partition(policy, partitionKey(context)));
            }
        });
    }

    /// <summary>
    /// The client address is the connection's remote address, which a <c>proxy_protocol</c> listener has already set
    /// from the PROXY header: behind a balancer, each real client gets its own limiter.
    /// </summary>
    private static Func<HttpContext, string> PartitionKey(string? partitionBy)
    {
        if (partitionBy is null || string.Equals(partitionBy, ClientAddress, StringComparison.OrdinalIgnoreCase))
            return context => context.Connection.RemoteIpAddress?.ToString() ?? "";
        if (string.Equals(partitionBy, None, StringComparison.OrdinalIgnoreCase))
            return _ => "";
        var header = partitionBy[HeaderPrefix.Length..].Trim();
        // Requests without the header share one limiter, so leaving it out is no way around the limit.
        return context => context.Request.Headers[header].ToString();
    }

    private static RateLimitPartition<string> Partition(RateLimitPolicyConf policy, string key) => policy switch
    {
        { FixedWindow: { } o } => RateLimitPartition.GetFixedWindowLimiter(key, _ => o),
        { SlidingWindow: { } o } => RateLimitPartition.GetSlidingWindowLimiter(key, _ => o),
        { TokenBucket: { } o } => RateLimitPartition.GetTokenBucketLimiter(key, _ => o),
        { Concurrency: { } o } => RateLimitPartition.GetConcurrencyLimiter(key, _ => o),
        _ => throw new InvalidOperationException("a rate limit policy without a limiter passed validation"),
    };
}
