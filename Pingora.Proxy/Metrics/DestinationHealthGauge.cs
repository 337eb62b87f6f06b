using Prometheus;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// <c>pingora_destination_healthy</c>, read from YARP's state at each scrape: a destination counts as healthy when
/// YARP would send it requests (neither its active nor its passive check says unhealthy). Destinations a reload
/// removed lose their series.
/// </summary>
internal sealed class DestinationHealthGauge(IProxyStateLookup state, ProxyMetrics metrics)
{
    private readonly object _gate = new();
    private HashSet<(string Cluster, string Destination)> _exported = [];

    public static void Watch(IProxyStateLookup state, ProxyMetrics metrics) =>
        metrics.Registry.AddBeforeCollectCallback(new DestinationHealthGauge(state, metrics).Update);

    public void Update()
    {
        lock (_gate)
        {
            var seen = new HashSet<(string, string)>();
            foreach (var cluster in state.GetClusters())
            {
                foreach (var (id, destination) in cluster.Destinations)
                {
                    var health = destination.Health;
                    var healthy = health.Active != DestinationHealth.Unhealthy && health.Passive != DestinationHealth.Unhealthy;
                    metrics.DestinationHealthy.WithLabels(cluster.ClusterId, id).Set(healthy ? 1 : 0);
                    seen.Add((cluster.ClusterId, id));
                }
            }
            foreach (var (cluster, destination) in _exported.Where(e => !seen.Contains(e)))
                metrics.DestinationHealthy.RemoveLabelled(cluster, destination);
            _exported = seen;
        }
    }
}
