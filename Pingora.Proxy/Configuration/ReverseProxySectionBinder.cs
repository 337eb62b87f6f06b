using YamlDotNet.RepresentationModel;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Binds the <c>ReverseProxy</c> section, shaped exactly as YARP's appsettings.json section: <c>Routes</c> and
/// <c>Clusters</c> are mappings keyed by id, and the id comes from the key (as YARP's own reader does, which also
/// rejects a <c>RouteId</c>/<c>ClusterId</c> field inside the entry).
/// </summary>
internal static class ReverseProxySectionBinder
{
    /// <summary>
    /// Route keys this daemon refuses, by key and before binding. YARP would accept <c>AuthorizationPolicy</c> and the
    /// policy could never work: authorization needs an authenticated user, and no authentication scheme is
    /// configurable here. The other policy keys (RateLimiterPolicy, TimeoutPolicy, Timeout, OutputCachePolicy,
    /// CorsPolicy) bind, and name policies of the file's sections (see Policies/).
    /// </summary>
    private static readonly Dictionary<string, string> MiddlewareRouteKeys = new Dictionary<string, string>
    {
        ["AuthorizationPolicy"] = "not supported: 'AuthorizationPolicy' needs an authenticated user, and no authentication scheme is configurable in pingora; authorize in the backend",
    }.ToDictionary(e => KeyNames.Normalize(e.Key), e => e.Value);

    public static (List<RouteConfig> Routes, List<ClusterConfig> Clusters) Bind(YamlScalarNode sectionKey, YamlNode section,
        YamlBinder binder, DiagnosticBag diagnostics)
    {
        List<RouteConfig> routes = [];
        List<ClusterConfig> clusters = [];
        var path = NodePath.Root.Property(ConfigPaths.ReverseProxy, sectionKey.Value!);
        binder.Record(path, sectionKey, section);
        if (YamlBinder.IsNull(section)) return (routes, clusters);
        if (section is not YamlMappingNode map)
        {
            binder.Fail(section, path, $"expected a mapping with Routes and Clusters, got {YamlBinder.Describe(section)}");
            return (routes, clusters);
        }

        YamlNode? routesKey = null, clustersKey = null;
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (!binder.TryKeyText(keyNode, path, out var key)) continue;
            if (KeyNames.Same(key, "Routes") && First(ref routesKey, keyNode, path.Key(key), diagnostics))
            {
                BindEntries<RouteConfig>(keyNode, valueNode, path.Property("Routes", key), "route", nameof(RouteConfig.RouteId),
                    MiddlewareRouteKeys, binder, diagnostics, (route, id) => route with { RouteId = id }, routes);
            }
            else if (KeyNames.Same(key, "Clusters") && First(ref clustersKey, keyNode, path.Key(key), diagnostics))
            {
                BindEntries<ClusterConfig>(keyNode, valueNode, path.Property("Clusters", key), "cluster", nameof(ClusterConfig.ClusterId),
                    NoRefusedKeys, binder, diagnostics, (cluster, id) => cluster with { ClusterId = id }, clusters);
            }
            else if (!KeyNames.Same(key, "Routes") && !KeyNames.Same(key, "Clusters"))
            {
                binder.WarnUnknownKey(keyNode, path.Key(key), key, ["Routes", "Clusters"]);
            }
        }
        return (routes, clusters);
    }

    private static readonly IReadOnlyDictionary<string, string> NoRefusedKeys = new Dictionary<string, string>();

    /// <param name="refusedKeys">Keys refused in every entry (normalized key → why), on top of the id property.</param>
    private static void BindEntries<T>(YamlNode keyNode, YamlNode node, NodePath path, string noun, string idProperty,
        IReadOnlyDictionary<string, string> refusedKeys, YamlBinder binder, DiagnosticBag diagnostics, Func<T, string, T> withId, List<T> into) where T : class, new()
    {
        binder.Record(path, keyNode, node);
        if (YamlBinder.IsNull(node)) return;
        if (node is not YamlMappingNode map)
        {
            var hint = node is YamlSequenceNode ? $" (YARP 2 keys {noun}s by id: write '<{noun} id>: {{...}}', not a list)" : "";
            binder.Fail(node, path, $"expected a mapping of {noun} id to {noun}, got {YamlBinder.Describe(node)}{hint}");
            return;
        }
        foreach (var (idNode, entryNode) in map.Children)
        {
            if (!binder.TryKeyText(idNode, path, out var id)) continue;
            var entryPath = path.Key(id);
            binder.Record(entryPath, idNode, entryNode);
            if (entryNode is not YamlMappingNode entry)
            {
                binder.Fail(entryNode, entryPath, $"expected a mapping (the {noun}'s settings), got {YamlBinder.Describe(entryNode)}");
                continue;
            }
            // Reported without marking the entry as broken: the rest of it is still worth validating.
            foreach (var (fieldNode, _) in entry.Children)
            {
                if (fieldNode is not YamlScalarNode { Value: { } field }) continue;
                var at = SourceLocation.At(fieldNode.Start, entryPath.Key(field));
                if (KeyNames.Same(field, idProperty))
                    diagnostics.Error(at, $"the {noun} id is this entry's key ('{id}'); remove '{field}' (YARP rejects it too)");
                else if (refusedKeys.TryGetValue(KeyNames.Normalize(field), out var why))
                    diagnostics.Error(at, why);
            }
            var bound = binder.BindObject<T>(entry, entryPath, field =>
                KeyNames.Same(field, idProperty) || refusedKeys.ContainsKey(KeyNames.Normalize(field)));
            into.Add(withId(bound, id));
        }
    }

    private static bool First(ref YamlNode? first, YamlNode key, NodePath path, DiagnosticBag diagnostics)
    {
        if (first is null)
        {
            first = key;
            return true;
        }
        diagnostics.Error(SourceLocation.At(key.Start, path), $"duplicate key: '{path.Display}' repeats the one on line {first.Start.Line}");
        return false;
    }
}
