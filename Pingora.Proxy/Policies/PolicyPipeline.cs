using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Policies;

/// <summary>
/// Puts the policy middleware in the pipeline, each behind a switch that is on only while some route uses that kind
/// of policy: a process whose routes use none pays one flag check per kind and request, not a middleware. The
/// policies themselves are registered once, at start (ASP.NET Core's options are built then), so a reload can make a
/// route use a policy the file defined at start but not one it added since (<see cref="PolicyReload"/>).
/// </summary>
internal sealed class PolicyPipeline(PolicyConf conf)
{
    private volatile bool _cors, _rateLimiting, _timeouts, _outputCache;

    public static void AddServices(IServiceCollection services, PolicyConf conf)
    {
        if (conf.Cors is { } cors) CorsPolicies.AddPolicies(services, cors);
        if (conf.RateLimiter is { } limiter) RateLimiting.AddPolicies(services, limiter);
        // Always: a route's Timeout needs the middleware without any section in the file.
        RequestTimeouts.AddPolicies(services, conf.RequestTimeouts);
        if (conf.OutputCache is { } cache) OutputCaching.AddPolicies(services, cache);
    }

    /// <summary>After routing (they read the route's endpoint metadata), in ASP.NET Core's documented order: CORS first
    /// (a preflight is answered before it counts against a limit), output cache last (a hit still counts).</summary>
    public void Use(IApplicationBuilder app)
    {
        if (conf.Cors is not null) app.UseWhen(_ => _cors, branch => branch.UseCors());
        if (conf.RateLimiter is not null) app.UseWhen(_ => _rateLimiting, branch => branch.UseRateLimiter());
        app.UseWhen(_ => _timeouts, branch =>
        {
            branch.UseRequestTimeouts();
            branch.UseMiddleware<TimeoutStatusMiddleware>(conf.RequestTimeouts ?? new RequestTimeoutsConf());
        });
        if (conf.OutputCache is not null) app.UseWhen(_ => _outputCache, branch => branch.UseOutputCache());
    }

    /// <summary>Turns on what <paramref name="routes"/> use, keeping on what the running routes use: called before a
    /// new set of routes is applied, so no request of either set meets a missing middleware.</summary>
    public void Enable(IReadOnlyList<RouteConfig> routes) => Set(routes, keep: true);

    /// <summary>Turns off what <paramref name="routes"/>, now applied, no longer use.</summary>
    public void Track(IReadOnlyList<RouteConfig> routes) => Set(routes, keep: false);

    private void Set(IReadOnlyList<RouteConfig> routes, bool keep)
    {
        static bool Uses(string? name) => !string.IsNullOrEmpty(name) && !string.Equals(name, PolicyNames.Disable, StringComparison.OrdinalIgnoreCase);
        _cors = (keep && _cors) || routes.Any(r => Uses(r.CorsPolicy));
        _rateLimiting = (keep && _rateLimiting) || routes.Any(r => Uses(r.RateLimiterPolicy));
        _timeouts = (keep && _timeouts) || conf.RequestTimeouts?.DefaultPolicy is not null
                    || routes.Any(r => Uses(r.TimeoutPolicy) || r.Timeout is not null);
        _outputCache = (keep && _outputCache) || routes.Any(r => Uses(r.OutputCachePolicy));
    }

    /// <summary>Which middleware run now, for tests and the log.</summary>
    public IReadOnlyList<string> Active() =>
        new[] { ("Cors", _cors), ("RateLimiter", _rateLimiting), ("RequestTimeouts", _timeouts), ("OutputCache", _outputCache) }
            .Where(k => k.Item2).Select(k => k.Item1).ToList();
}
