using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Pingora.Proxy.Hosting;
using Prometheus;

namespace Pingora.Proxy.Admin;

/// <summary>
/// The admin listener's whole pipeline: <c>/metrics</c> (Prometheus text), <c>/status</c> (the lifecycle state,
/// generation and last upgrade's outcome) and <c>/ready</c>; anything else is 404. Nothing here is ever proxied, and
/// the public listeners never reach it: it runs on a host of its own, bound to the admin socket only.
/// </summary>
public static class AdminEndpoints
{
    public static void Map(WebApplication app, ProcessStatus status, Readiness readiness, Func<int> connections, CollectorRegistry registry)
    {
        app.UseMetricServer("/metrics", registry);
        app.Run(context =>
        {
            context.Response.Headers.CacheControl = "no-store";
            switch (context.Request.Path.Value)
            {
                case "/ready":
                    var ready = readiness.IsReady;
                    context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                    context.Response.ContentType = "text/plain";
                    return context.Response.WriteAsync(ready ? "ready\n" : $"not ready: {status.State}\n");
                case "/status":
                    context.Response.ContentType = "application/json";
                    return context.Response.Body.WriteAsync(StatusJson(status, readiness, connections())).AsTask();
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
            }
        });
    }

    /// <summary>status_path's fields, plus the lineage.</summary>
    internal static byte[] StatusJson(ProcessStatus status, Readiness readiness, int connections)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("pid", status.Pid);
            json.WriteString("version", ProcessStatus.Version);
            json.WriteString("state", status.State);
            json.WriteBoolean("ready", readiness.IsReady);
            json.WriteNumber("uptime_seconds", Math.Round(status.UptimeSeconds, 3));
            json.WriteNumber("connections", connections);
            json.WriteNumber("generation", status.Upgrades.Generation);
            if (status.Upgrades.LastOutcome is { } outcome) json.WriteString("last_upgrade", outcome);
            else json.WriteNull("last_upgrade");
            json.WriteNumber("upgrades_committed", status.Upgrades.Committed);
            json.WriteNumber("upgrades_failed", status.Upgrades.Failed);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
