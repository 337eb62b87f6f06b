using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Pingora.Proxy.Policies;

/// <summary>The <c>Cors</c> section: named CORS policies for routes' <c>CorsPolicy</c>.</summary>
public sealed class CorsConf
{
    public Dictionary<string, CorsPolicyConf>? Policies { get; set; }
}

/// <summary>One policy; the keys are CorsPolicy's properties. <c>*</c> in a list allows any.</summary>
public sealed class CorsPolicyConf
{
    public List<string>? Origins { get; set; }
    public List<string>? Methods { get; set; }
    public List<string>? Headers { get; set; }
    public List<string>? ExposedHeaders { get; set; }
    public bool SupportsCredentials { get; set; }
    /// <summary>How long a browser may keep a preflight's answer (Access-Control-Max-Age).</summary>
    public TimeSpan? PreflightMaxAge { get; set; }
}

/// <summary>Registers the section with ASP.NET Core's CORS (AddCors).</summary>
internal static class CorsPolicies
{
    public const string Any = "*";

    public static void AddPolicies(IServiceCollection services, CorsConf conf)
    {
        services.AddCors(options =>
        {
            foreach (var (name, policy) in conf.Policies ?? []) options.AddPolicy(name, builder => Configure(builder, policy));
        });
    }

    private static void Configure(CorsPolicyBuilder builder, CorsPolicyConf policy)
    {
        var origins = policy.Origins ?? [];
        if (origins.Contains(Any)) builder.AllowAnyOrigin();
        else builder.WithOrigins(origins.ToArray());
        if (policy.Methods is null || policy.Methods.Contains(Any)) builder.AllowAnyMethod();
        else builder.WithMethods(policy.Methods.ToArray());
        if (policy.Headers is null || policy.Headers.Contains(Any)) builder.AllowAnyHeader();
        else builder.WithHeaders(policy.Headers.ToArray());
        if (policy.ExposedHeaders is { Count: > 0 } exposed) builder.WithExposedHeaders(exposed.ToArray());
        if (policy.SupportsCredentials) builder.AllowCredentials();
        if (policy.PreflightMaxAge is { } maxAge) builder.SetPreflightMaxAge(maxAge);
    }
}
