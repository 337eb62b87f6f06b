using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;

namespace Pingora.Proxy.Policies;

/// <summary>The <c>RequestTimeouts</c> section: named timeouts for routes' <c>TimeoutPolicy</c>, and a default for every route.</summary>
public sealed class RequestTimeoutsConf
{
    /// <summary>Applies to every route that names neither a <c>TimeoutPolicy</c> nor a <c>Timeout</c>.</summary>
    public TimeoutPolicyConf? DefaultPolicy { get; set; }
    public Dictionary<string, TimeoutPolicyConf>? Policies { get; set; }
}

/// <summary>One timeout: how long the upstream may take to start its response, and the status when it does not.</summary>
public sealed class TimeoutPolicyConf
{
    public TimeSpan? Timeout { get; set; }
    public int TimeoutStatusCode { get; set; } = StatusCodes.Status504GatewayTimeout;
}

/// <summary>Registers the section with ASP.NET Core's request timeouts (AddRequestTimeouts).</summary>
internal static class RequestTimeouts
{
    public static void AddPolicies(IServiceCollection services, RequestTimeoutsConf? conf)
    {
        services.AddRequestTimeouts(options =>
        {
            if (conf?.DefaultPolicy is { } fallback) options.DefaultPolicy = ToPolicy(fallback);
            foreach (var (name, policy) in conf?.Policies ?? []) options.AddPolicy(name, ToPolicy(policy));
        });
    }

    private static RequestTimeoutPolicy ToPolicy(TimeoutPolicyConf conf) =>
        new() { Timeout = conf.Timeout, TimeoutStatusCode = conf.TimeoutStatusCode };
}
