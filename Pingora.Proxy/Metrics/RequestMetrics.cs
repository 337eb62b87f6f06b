using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Model;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// Counts every request on the public listeners by route, cluster, method and status code, times it by route, and
/// keeps the count of upgraded (WebSocket) requests still open. Route and cluster come from YARP's proxy feature once
/// the request is done; a request no route matched (a 404, status_path) is "none".
/// </summary>
public static class RequestMetrics
{
    public const string None = "none";

    public static IApplicationBuilder UseRequestMetrics(this IApplicationBuilder app, ProxyMetrics metrics)
    {
        DestinationHealthGauge.Watch(app.ApplicationServices.GetRequiredService<Yarp.ReverseProxy.IProxyStateLookup>(), metrics);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            ConnectionMetrics.RequestStarted(context);
            var upgrade = IsUpgradable(context) ? new UpgradeWatch(context, metrics) : null;
            var failed = false;
            try
            {
                await next(context);
            }
            catch
            {
                failed = true;
                throw;
            }
            finally
            {
                upgrade?.Ended();
                Record(context, metrics, Stopwatch.GetElapsedTime(started).TotalSeconds, failed);
            }
        });
    }

    private static void Record(HttpContext context, ProxyMetrics metrics, double seconds, bool failed)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>();
        var route = proxy?.Route.Config.RouteId ?? None;
        var cluster = proxy?.Cluster?.Config.ClusterId ?? None;
        // An exception before the response started becomes Kestrel's 500.
        var code = failed && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
        metrics.Series.Requests(route, cluster, context.Request.Method, code).Inc();
        metrics.Series.Duration(route).Observe(seconds);
    }

    private static bool IsUpgradable(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;

    /// <summary>Counts the request as upgraded from the moment its 101 (or, for an HTTP/2 extended CONNECT, its 200) is sent.</summary>
    private sealed class UpgradeWatch
    {
        private readonly ProxyMetrics _metrics;
        private int _open;

        public UpgradeWatch(HttpContext context, ProxyMetrics metrics)
        {
            _metrics = metrics;
            context.Response.OnStarting(() =>
            {
                var code = context.Response.StatusCode;
                if (code == StatusCodes.Status101SwitchingProtocols || (code == StatusCodes.Status200OK && HttpMethods.IsConnect(context.Request.Method)))
                {
                    Interlocked.Exchange(ref _open, 1);
                    _metrics.UpgradedConnections.Inc();
                }
                return Task.CompletedTask;
            });
        }

        public void Ended()
        {
            if (Interlocked.Exchange(ref _open, 0) == 1) _metrics.UpgradedConnections.Dec();
        }
    }
}
