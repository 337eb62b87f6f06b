using Prometheus;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// Our instruments, named by Prometheus conventions. prometheus-net exports them with .NET's own meters (Kestrel,
/// ASP.NET Core hosting, System.Net.Http, System.Runtime), which its meter adapter publishes with no code of ours.
/// One instance per process (<see cref="Default"/>); tests build one on a registry of their own.
/// </summary>
public sealed class ProxyMetrics
{
    private static readonly Lock ProcessGate = new();
    private static ProxyMetrics? s_process;

    /// <summary>
    /// The process's instruments, on prometheus-net's default registry (what /metrics serves). The first call decides
    /// whether .NET's per-request instruments are exported (<see cref="FrameworkMeters"/>): the meter adapter is
    /// configured once, before the default registry is first used.
    /// </summary>
    public static ProxyMetrics ForProcess(bool requestMeters)
    {
        lock (ProcessGate)
        {
            if (s_process is not null) return s_process;
            if (!requestMeters) Prometheus.Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = i => !FrameworkMeters.IsPerRequest(i));
            // .NET's EventCounters repeat what the System.Runtime meter already publishes, and make garbage at every update.
            Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressDebugMetrics = true });
            return s_process = new ProxyMetrics(Prometheus.Metrics.DefaultRegistry);
        }
    }

    /// <summary>The process's instruments, as <see cref="ForProcess"/> made them (with the default if nothing did yet).</summary>
    public static ProxyMetrics Default => ForProcess(requestMeters: false);

    // Requests take from well under a millisecond (status_path, a cached answer) to the longest upstream timeouts.
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public ProxyMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Requests = f.CreateCounter("pingora_requests_total",
            "Requests answered, by route, cluster, method and status code; route and cluster are \"none\" when no route matched.",
            ["route", "cluster", "method", "code"]);
        RequestDuration = f.CreateHistogram("pingora_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route.",
            ["route"], new HistogramConfiguration { Buckets = DurationBuckets });
        UpstreamDuration = f.CreateHistogram("pingora_upstream_duration_seconds",
            "Time spent forwarding to a destination (request, response and its body), by cluster and destination.",
            ["cluster", "destination"], new HistogramConfiguration { Buckets = DurationBuckets });
        UpstreamFailures = f.CreateCounter("pingora_upstream_failures_total",
            "Forwarding failures by cluster and kind (YARP's ForwarderError: Request, RequestTimedOut, NoAvailableDestinations, ...).",
            ["cluster", "kind"]);
        DestinationHealthy = f.CreateGauge("pingora_destination_healthy",
            "1 when YARP's active and passive health checks let the destination take requests (unknown counts as healthy, as YARP does), else 0.",
            ["cluster", "destination"]);
        OpenConnections = f.CreateGauge("pingora_open_connections",
            "Open client connections by listener and protocol (http1, http2; \"pending\" before their first request).",
            ["listener", "protocol"]);
        UpgradedConnections = f.CreateGauge("pingora_upgraded_connections",
            "Requests upgraded to another protocol (WebSocket over HTTP/1.1 or HTTP/2) and still open.");
        DrainingConnections = f.CreateGauge("pingora_draining_connections",
            "Client connections still open while this process drains (0 while it serves).");
        Series = new RequestSeries(this);
    }

    public CollectorRegistry Registry { get; }
    public Counter Requests { get; }
    public Histogram RequestDuration { get; }
    public Histogram UpstreamDuration { get; }
    public Counter UpstreamFailures { get; }
    public Gauge DestinationHealthy { get; }
    public Gauge OpenConnections { get; }
    public Gauge UpgradedConnections { get; }
    public Gauge DrainingConnections { get; }

    /// <summary>The per-request instruments' series, kept once looked up.</summary>
    internal RequestSeries Series { get; }
}
