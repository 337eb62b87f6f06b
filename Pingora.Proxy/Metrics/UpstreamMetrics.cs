using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// The proxy pipeline YARP runs by default (session affinity, load balancing, passive health checks), plus one last
/// step that times the forwarding to the chosen destination and counts its failures by <see cref="ForwarderError"/>.
/// </summary>
public static class UpstreamMetrics
{
    public static Action<IReverseProxyApplicationBuilder> Pipeline(ProxyMetrics metrics) => proxy =>
    {
        proxy.UseSessionAffinity();
        proxy.UseLoadBalancing();
        proxy.UsePassiveHealthChecks();
        proxy.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next();
            }
            finally
            {
                var proxied = context.Features.Get<IReverseProxyFeature>()!;
                var cluster = proxied.Cluster?.Config.ClusterId ?? RequestMetrics.None;
                if (proxied.ProxiedDestination is { } destination)
                    metrics.Series.Upstream(cluster, destination.DestinationId).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (context.Features.Get<IForwarderErrorFeature>() is { } failure)
                    metrics.Series.Failures(cluster, failure.Error).Inc();
            }
        });
    };
}
