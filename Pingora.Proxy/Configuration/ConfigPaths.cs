namespace Pingora.Proxy.Configuration;

/// <summary>
/// Canonical paths (see <see cref="NodePath"/>) of the nodes validators point at. They must match what
/// <see cref="ConfigDocumentBinder"/> records, so both build them from here.
/// </summary>
internal static class ConfigPaths
{
    public const string Listeners = nameof(PingoraConfig.Listeners);
    public const string ReverseProxy = "ReverseProxy";
    public const string Routes = ReverseProxy + ".Routes";
    public const string Clusters = ReverseProxy + ".Clusters";

    public static string Listener(int index) => $"{Listeners}[{index}]";
    public static string Route(string routeId) => $"{Routes}.{routeId}";
    public static string Cluster(string clusterId) => $"{Clusters}.{clusterId}";
}
