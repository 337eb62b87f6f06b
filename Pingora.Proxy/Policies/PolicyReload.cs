using Pingora.Proxy.Configuration;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Policies;

/// <summary>
/// What SIGHUP can do with policies. ASP.NET Core builds its policies from options at start, so a changed or added
/// definition takes effect only through an upgrade; routes may newly use, or stop using, any policy the running
/// process has (YARP applies route metadata on reload).
/// </summary>
internal static class PolicyReload
{
    /// <summary>The sections whose definitions differ between the running and the re-read file.</summary>
    public static IEnumerable<string> ChangedSections(PolicyConf running, PolicyConf reloaded)
    {
        if (!BoundEquality.Equal(running.RateLimiter, reloaded.RateLimiter)) yield return nameof(PolicyConf.RateLimiter);
        if (!BoundEquality.Equal(running.RequestTimeouts, reloaded.RequestTimeouts)) yield return nameof(PolicyConf.RequestTimeouts);
        if (!BoundEquality.Equal(running.OutputCache, reloaded.OutputCache)) yield return nameof(PolicyConf.OutputCache);
        if (!BoundEquality.Equal(running.Cors, reloaded.Cors)) yield return nameof(PolicyConf.Cors);
    }

    /// <summary>Routes naming a policy the running process does not have: such a reload is refused as a whole.</summary>
    public static IReadOnlyList<string> UnavailableReferences(IReadOnlyList<RouteConfig> routes, PolicyConf running) =>
        routes.SelectMany(route => PolicyReferences.Problems(route, running)
                .Select(p => $"{ConfigPaths.Route(route.RouteId)}.{p.Key}: {p.Message} in the running process (policies change only with an upgrade)"))
            .ToList();
}
