using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Checks across routes and clusters that YARP itself does not make, or makes only when a request arrives:
/// unique ids, routes pointing at clusters that exist, and destination addresses that are absolute http(s) URIs.
/// </summary>
internal static class ReverseProxyValidator
{
    public static void Validate(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, SourceMap sourceMap,
        DiagnosticBag diagnostics)
    {
        CheckUniqueIds(clusters.Select(c => c.ClusterId), ConfigPaths.Cluster, "cluster", sourceMap, diagnostics);
        CheckUniqueIds(routes.Select(r => r.RouteId), ConfigPaths.Route, "route", sourceMap, diagnostics);

        // YARP looks clusters up case-insensitively.
        var clusterIds = clusters.Select(c => c.ClusterId).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var route in routes) CheckClusterReference(route, clusterIds, sourceMap, diagnostics);
        foreach (var cluster in clusters)
        {
            CheckDestinationAddresses(cluster, sourceMap, diagnostics);
            if (cluster.Destinations is null or { Count: 0 } && !diagnostics.HasErrorsWithin(ConfigPaths.Cluster(cluster.ClusterId)))
                diagnostics.Warning(sourceMap.Locate(ConfigPaths.Cluster(cluster.ClusterId)),
                    $"cluster '{cluster.ClusterId}' has no destinations; requests routed to it will get 503");
        }
    }

    /// <summary>Ids compare case-insensitively, as in YARP: 'r1' and 'R1' name the same route.</summary>
    private static void CheckUniqueIds(IEnumerable<string> ids, Func<string, string> pathOf, string noun, SourceMap sourceMap,
        DiagnosticBag diagnostics)
    {
        var first = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in ids)
        {
            if (first.TryGetValue(id, out var original))
            {
                var originalAt = sourceMap.Locate(pathOf(original));
                diagnostics.Error(sourceMap.Locate(pathOf(id)),
                    $"duplicate {noun} id '{id}': {noun} ids compare case-insensitively and '{original}' on line {originalAt.Line} has the same id");
            }
            else first[id] = id;
        }
    }

    private static void CheckClusterReference(RouteConfig route, HashSet<string> clusterIds, SourceMap sourceMap,
        DiagnosticBag diagnostics)
    {
        var path = $"{ConfigPaths.Route(route.RouteId)}.{nameof(RouteConfig.ClusterId)}";
        if (diagnostics.HasErrorsWithin(path)) return;
        if (string.IsNullOrWhiteSpace(route.ClusterId))
        {
            diagnostics.Error(sourceMap.Locate(path), $"missing: route '{route.RouteId}' must name the cluster it forwards to with ClusterId");
        }
        else if (!clusterIds.Contains(route.ClusterId))
        {
            var suggestion = KeyNames.Suggest(route.ClusterId, [], clusterIds);
            var hint = suggestion is null ? "" : $"; did you mean '{suggestion}'?";
            // YARP accepts such a route and answers 503 to every request it matches; a typo should not get that far.
            diagnostics.Error(sourceMap.Locate(path), $"cluster '{route.ClusterId}' is not defined in ReverseProxy.Clusters{hint}");
        }
    }

    /// <summary>
    /// YARP refuses a missing Address but takes any text, and a malformed one only fails when a request is forwarded.
    /// </summary>
    private static void CheckDestinationAddresses(ClusterConfig cluster, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        foreach (var (id, destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            if (destination is null) continue; // did not bind; already reported
            var path = $"{ConfigPaths.Cluster(cluster.ClusterId)}.{nameof(ClusterConfig.Destinations)}.{id}";
            foreach (var (name, address) in new[] { (nameof(DestinationConfig.Address), destination.Address), (nameof(DestinationConfig.Health), destination.Health) })
            {
                if (string.IsNullOrEmpty(address) || IsHttpUri(address)) continue;
                diagnostics.Error(sourceMap.Locate($"{path}.{name}"), $"expected an absolute http:// or https:// URI, got '{address}'");
            }
        }
    }

    private static bool IsHttpUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
