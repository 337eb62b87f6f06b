using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Prometheus;
using Yarp.ReverseProxy.Forwarder;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// The labelled series of the per-request instruments, each looked up in prometheus-net once and then kept here.
/// <c>WithLabels</c> builds a label array and searches the metric's table on every call; a request then costs one
/// lookup by its own key (route and cluster strings are YARP's config objects, the method Kestrel's interned name).
/// The keys are bounded: routes, clusters and destinations come from the file, codes are numbers below 600, and a
/// method outside the standard ones is counted as "_OTHER" (what OpenTelemetry's HTTP conventions do), so a client
/// inventing methods cannot grow the series without bound.
/// </summary>
internal sealed class RequestSeries(ProxyMetrics metrics)
{
    public const string OtherMethod = "_OTHER";

    private readonly ConcurrentDictionary<(string Route, string Cluster, string Method, int Code), Counter.Child> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> _durations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cluster, string Destination), Histogram.Child> _upstream = new();
    private readonly ConcurrentDictionary<(string Cluster, ForwarderError Kind), Counter.Child> _failures = new();

    public Counter.Child Requests(string route, string cluster, string method, int code)
    {
        var key = (route, cluster, Method(method), code);
        return _requests.TryGetValue(key, out var child) ? child
            : _requests.GetOrAdd(key, static (k, m) => m.Requests.WithLabels(k.Route, k.Cluster, k.Method, StatusCodeLabels.Of(k.Code)), metrics);
    }

    public Histogram.Child Duration(string route) =>
        _durations.TryGetValue(route, out var child) ? child
            : _durations.GetOrAdd(route, static (r, m) => m.RequestDuration.WithLabels(r), metrics);

    public Histogram.Child Upstream(string cluster, string destination) =>
        _upstream.TryGetValue((cluster, destination), out var child) ? child
            : _upstream.GetOrAdd((cluster, destination), static (k, m) => m.UpstreamDuration.WithLabels(k.Cluster, k.Destination), metrics);

    public Counter.Child Failures(string cluster, ForwarderError kind) =>
        _failures.TryGetValue((cluster, kind), out var child) ? child
            : _failures.GetOrAdd((cluster, kind), static (k, m) => m.UpstreamFailures.WithLabels(k.Cluster, k.Kind.ToString()), metrics);

    /// <summary>Kestrel's own instance for a standard method (no string comparison beyond the first), else "_OTHER".</summary>
    private static string Method(string method) =>
        HttpMethods.GetCanonicalizedValue(method) is var canonical && IsStandard(canonical) ? canonical : OtherMethod;

    private static bool IsStandard(string method) =>
        ReferenceEquals(method, HttpMethods.Get) || ReferenceEquals(method, HttpMethods.Post) || ReferenceEquals(method, HttpMethods.Head)
        || ReferenceEquals(method, HttpMethods.Put) || ReferenceEquals(method, HttpMethods.Delete) || ReferenceEquals(method, HttpMethods.Patch)
        || ReferenceEquals(method, HttpMethods.Options) || ReferenceEquals(method, HttpMethods.Connect) || ReferenceEquals(method, HttpMethods.Trace);
}
