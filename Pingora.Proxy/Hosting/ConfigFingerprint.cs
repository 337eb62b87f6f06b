using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Makes every change to a route, cluster or destination one that YARP applies. YARP rebuilds an entry on update only
/// when its record's <c>Equals</c> says it changed, and that leaves keys out (RouteConfig ignores MaxRequestBodySize,
/// still in 2.3.0) or compares them case-insensitively (a destination's Address, path included): such a change alone
/// would reload "ok" and never apply. A metadata entry holding a hash of the whole entry closes every such gap, and an
/// unchanged entry keeps its hash, so YARP still leaves it (its health state, its connection pool) alone.
/// </summary>
internal static class ConfigFingerprint
{
    /// <summary>The metadata key; an entry of the same name in the file is replaced.</summary>
    public const string MetadataKey = "pingora.config-sha256";

    public static IReadOnlyList<RouteConfig> Stamp(IReadOnlyList<RouteConfig> routes) =>
        routes.Select(route => route with { Metadata = WithHash(route.Metadata, route, FingerprintJson.Default.RouteConfig) }).ToList();

    /// <summary>A cluster's hash leaves its destinations out: YARP tracks those one by one, each with its own hash.</summary>
    public static IReadOnlyList<ClusterConfig> Stamp(IReadOnlyList<ClusterConfig> clusters) =>
        clusters.Select(cluster => cluster with
        {
            Metadata = WithHash(cluster.Metadata, cluster with { Destinations = null }, FingerprintJson.Default.ClusterConfig),
            Destinations = cluster.Destinations?.ToDictionary(
                d => d.Key,
                d => d.Value with { Metadata = WithHash(d.Value.Metadata, d.Value, FingerprintJson.Default.DestinationConfig) },
                StringComparer.OrdinalIgnoreCase),
        }).ToList();

    private static Dictionary<string, string> WithHash<T>(IReadOnlyDictionary<string, string>? metadata, T entry, JsonTypeInfo<T> json)
    {
        var stamped = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            if (!string.Equals(key, MetadataKey, StringComparison.OrdinalIgnoreCase)) stamped[key] = value;
        // Every public property, in declaration order, case kept: a hash of the entry as YARP receives it.
        stamped[MetadataKey] = Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(entry, json)));
        return stamped;
    }
}
