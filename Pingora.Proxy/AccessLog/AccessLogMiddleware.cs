using System.Diagnostics;
using System.Security.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Connections.Features;
using Yarp.ReverseProxy.Model;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// First in the pipeline, so it sees every response: proxied ones, 404 (no route), 502/503/504 (upstream failed),
/// those pingora answers itself (status_path), and requests whose client went away, logged as 499 as nginx does.
/// Gives each request its id (<see cref="RequestId"/>) whether or not access_log is set.
/// </summary>
internal sealed class AccessLogMiddleware(RequestDelegate next, AccessLogWriter? writer)
{
    public const int ClientClosedRequest = 499;

    // Without access_log only the id is given, and the next middleware's task is returned as it is: no async frame
    // per request for a log that is off.
    public Task InvokeAsync(HttpContext context)
    {
        var id = RequestId.Apply(context.Request);
        return writer is null ? next(context) : InvokeLoggedAsync(context, id, writer);
    }

    private async Task InvokeLoggedAsync(HttpContext context, string id, AccessLogWriter writer)
    {
        var record = new AccessLogRecord(Stopwatch.GetTimestamp(), id);
        // Kestrel's own token, taken before request tracking (Drain/) puts its feature in front and disposes it.
        var aborted = context.RequestAborted;
        context.Features.Set(record);
        var body = new CountingResponseBody(context.Features.Get<IHttpResponseBodyFeature>()!);
        context.Features.Set<IHttpResponseBodyFeature>(body);
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true; // Kestrel answers 500 if the response has not started
            throw;
        }
        finally
        {
            context.Features.Set(body.Inner);
            writer.Write(Entry(context, record, body.Bytes, failed, aborted.IsCancellationRequested));
        }
    }

    private static AccessLogEntry Entry(HttpContext context, AccessLogRecord record, long bytes, bool failed, bool aborted)
    {
        var end = Stopwatch.GetTimestamp();
        var request = context.Request;
        var status = aborted ? ClientClosedRequest
            : failed && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError
            : context.Response.StatusCode;
        var proxy = context.Features.Get<IReverseProxyFeature>();
        var connection = context.Connection;
        return new AccessLogEntry(
            Time: DateTimeOffset.Now,
            ClientAddress: connection.RemoteIpAddress,
            ClientPort: connection.RemotePort,
            Method: request.Method,
            Target: context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/",
            Protocol: request.Protocol,
            Status: status,
            BytesSent: bytes,
            Duration: Stopwatch.GetElapsedTime(record.StartTimestamp, end),
            Route: proxy?.Route.Config.RouteId,
            Cluster: proxy?.Cluster?.Config.ClusterId,
            Destination: proxy?.ProxiedDestination?.Model.Config.Address,
            UpstreamStatus: record.UpstreamStatus,
            UpstreamTime: record.UpstreamTime(end),
            UserAgent: request.Headers.UserAgent.Count == 0 ? null : request.Headers.UserAgent.ToString(),
            Referer: request.Headers.Referer.Count == 0 ? null : request.Headers.Referer.ToString(),
            TlsProtocol: TlsName(context.Features.Get<ITlsHandshakeFeature>()?.Protocol),
            RequestId: record.RequestId,
            Pid: Environment.ProcessId);
    }

    /// <summary>OpenSSL's names, as nginx's $ssl_protocol has them.</summary>
    private static string? TlsName(SslProtocols? protocol) => protocol switch
    {
        null or SslProtocols.None => null,
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
#pragma warning disable SYSLIB0039 // only named, never negotiated by choice
        SslProtocols.Tls11 => "TLSv1.1",
        SslProtocols.Tls => "TLSv1",
#pragma warning restore SYSLIB0039
        _ => protocol.ToString(),
    };
}
