using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Answers <c>status_path</c> from the daemon itself: a health check that needs no backend, and, through the pid,
/// a way to see which process answered during an upgrade.
/// </summary>
public static class StatusEndpoint
{
    public static IApplicationBuilder UseStatusEndpoint(this IApplicationBuilder app, string? path, ProcessStatus status, ConnectionTracker connections)
    {
        if (string.IsNullOrEmpty(path)) return app;
        var statusPath = new PathString(path);
        return app.Use((context, next) =>
        {
            if (!context.Request.Path.Equals(statusPath, StringComparison.Ordinal)) return next(context);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            var body = JsonSerializer.SerializeToUtf8Bytes(new
            {
                pid = status.Pid,
                version = ProcessStatus.Version,
                state = status.State,
                uptime_seconds = Math.Round(status.UptimeSeconds, 3),
                connections = connections.Active,
            });
            return context.Response.Body.WriteAsync(body).AsTask();
        });
    }
}
