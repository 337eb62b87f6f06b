using Pingora.Proxy.Configuration;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Policies;

/// <summary>
/// Routes' references to policies: each name must be defined in the file (or be YARP's <c>Disable</c>), checked with
/// file:line:key here because YARP's own validator could only say "not found" without a place.
/// </summary>
internal static class PolicyReferences
{
    /// <summary>The route without its policy keys, for YARP's validator, which looks policies up in a container that has none.</summary>
    public static RouteConfig WithoutPolicies(RouteConfig route) =>
        route with { RateLimiterPolicy = null, TimeoutPolicy = null, Timeout = null, OutputCachePolicy = null, CorsPolicy = null };

    public static void Validate(IReadOnlyList<RouteConfig> routes, PolicyConf policies, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        foreach (var route in routes)
        {
            foreach (var problem in Problems(route, policies))
            {
                var path = $"{ConfigPaths.Route(route.RouteId)}.{problem.Key}";
                if (!diagnostics.HasErrorsWithin(path)) diagnostics.Error(sourceMap.Locate(path), problem.Message, path);
            }
        }
    }

    /// <summary>What is wrong with a route's references against <paramref name="policies"/>: the file's own at load,
    /// the running process's at reload.</summary>
    public static IEnumerable<(string Key, string Message)> Problems(RouteConfig route, PolicyConf policies)
    {
        if (Check(route.RateLimiterPolicy, policies.RateLimiter?.Policies, nameof(PolicyConf.RateLimiter), allowDisable: true) is { } limiter)
            yield return (nameof(RouteConfig.RateLimiterPolicy), limiter);
        if (Check(route.TimeoutPolicy, policies.RequestTimeouts?.Policies, nameof(PolicyConf.RequestTimeouts), allowDisable: true) is { } timeout)
            yield return (nameof(RouteConfig.TimeoutPolicy), timeout);
        if (Check(route.OutputCachePolicy, policies.OutputCache?.Policies, nameof(PolicyConf.OutputCache), allowDisable: false) is { } cache)
            yield return (nameof(RouteConfig.OutputCachePolicy), cache);
        if (Check(route.CorsPolicy, policies.Cors?.Policies, nameof(PolicyConf.Cors), allowDisable: true) is { } cors)
            yield return (nameof(RouteConfig.CorsPolicy), cors);
        if (route.Timeout is { } span)
        {
            if (span <= TimeSpan.Zero) yield return (nameof(RouteConfig.Timeout), $"must be longer than 0, got {span:c}");
            else if (!string.IsNullOrEmpty(route.TimeoutPolicy))
                yield return (nameof(RouteConfig.Timeout), "a route has either Timeout or TimeoutPolicy, not both (YARP refuses both)");
        }
    }

    private static string? Check<T>(string? name, Dictionary<string, T>? defined, string section, bool allowDisable)
    {
        if (string.IsNullOrEmpty(name)) return null;
        if (allowDisable && string.Equals(name, PolicyNames.Disable, StringComparison.OrdinalIgnoreCase)) return null;
        if (string.Equals(name, PolicyNames.Default, StringComparison.OrdinalIgnoreCase))
            return $"'{name}' means the application's default policy, and none is configurable here; name a policy of {section}.Policies";
        // ASP.NET Core looks some policy names up case-sensitively, so the check does too.
        if (defined?.Keys.Any(k => string.Equals(k, name, StringComparison.Ordinal)) == true) return null;
        var known = defined?.Keys.ToList() ?? [];
        var suggestion = KeyNames.Suggest(name, [], known);
        var hint = suggestion is null ? "" : $"; did you mean '{suggestion}'?";
        return known.Count == 0
            ? $"policy '{name}' is not defined: the file has no {section}.Policies"
            : $"policy '{name}' is not defined in {section}.Policies{hint}";
    }
}
