using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
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
            // A feature, not an item: Kestrel's requests find connection features, and Items is a dictionary per connection.
            connection.Features.Set(tracked);
            try
            {
                await next(connection);
            }
            finally
            {
                tracked.Close();
            }
        });

    /// <summary>
    /// First in the HTTP pipeline: tells the tracker a request began and whether the connection multiplexes (HTTP/2),
    /// and while draining asks each HTTP/1.x client to close the connection after this response, so that it reconnects
    /// (to the successor, after an upgrade) instead of sending its next request on a connection about to be closed.
    /// Every request is registered in <see cref="ConnectionTracker.Requests"/> until it ends, for the deadline.
    /// </summary>
    public static IApplicationBuilder UseRequestTracking(this IApplicationBuilder app, ConnectionTracker tracker) =>
        app.Use(async (context, next) =>
        {
            var http2 = HttpProtocol.IsHttp2(context.Request.Protocol); // no HTTP/3 listener exists
            var connection = context.Features.Get<TrackedConnection>();
            connection?.RequestStarted(http2);
            // Kestrel ends keep-alive when the response says Connection: close; YARP never copies a backend's
            // Connection header (hop-by-hop), so this one stands.
            if (tracker.Draining && !http2) context.Response.Headers.Connection = "close";
            using var request = tracker.Requests.Begin(context, http2, connection);
            await next(context);
            // YARP takes the drain's stop of a request whose upstream has not answered yet for the client's own cancel,
            // and answers 400: the client did nothing wrong, and may send the request again elsewhere.
            if (request.ClosedByDrain && !context.Response.HasStarted) context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        });
}
