using System.Buffers;
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
            return context.Response.Body.WriteAsync(Body(status, connections.Active)).AsTask();
        });
    }

    // Written field by field rather than serialized from an anonymous type: reflection-based serialization is
    // unavailable in a Native AOT build, and the shape is five fields.
    private static ReadOnlyMemory<byte> Body(ProcessStatus status, int connections)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("pid", status.Pid);
            json.WriteString("version", ProcessStatus.Version);
            json.WriteString("state", status.State);
            json.WriteNumber("uptime_seconds", Math.Round(status.UptimeSeconds, 3));
            json.WriteNumber("connections", connections);
            json.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}
