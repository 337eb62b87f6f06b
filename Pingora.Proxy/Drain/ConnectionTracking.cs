using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Pingora.Proxy.Drain;

/// <summary>Hooks the <see cref="ConnectionTracker"/> into Kestrel: one connection middleware, one HTTP middleware.</summary>
public static class ConnectionTracking
{
    /// <summary>Add before UseHttps, so a connection counts from accept, through its TLS handshake.</summary>
    public static void UseConnectionTracking(this ListenOptions listen, ConnectionTracker tracker) =>
        listen.Use(next => async connection =>
        {
            var tracked = tracker.Open();
            connection.Items[TrackedConnection.ItemKey] = tracked;
            try
            {
                await next(connection);
            }
            finally
            {
                tracked.Close();
            }
        });

    /// <summary>Marks the connection as having begun a request; first in the HTTP pipeline.</summary>
    public static IApplicationBuilder UseFirstRequestMarker(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Features.Get<IConnectionItemsFeature>()?.Items is { } items
                && items.TryGetValue(TrackedConnection.ItemKey, out var value)
                && value is TrackedConnection tracked)
            {
                tracked.MarkRequestStarted();
            }
            return next(context);
        });
}
