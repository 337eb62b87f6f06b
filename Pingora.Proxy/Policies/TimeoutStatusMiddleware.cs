using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Yarp.ReverseProxy.Forwarder;

namespace Pingora.Proxy.Policies;

/// <summary>
/// Gives a timed-out proxied request its policy's <c>TimeoutStatusCode</c>. ASP.NET Core's middleware sets that status
/// only when the endpoint throws; YARP does not throw: it sees the timeout as the client's RequestAborted and answers
/// 400 (ForwarderError.RequestCanceled, measured with YARP 2.3.0), so without this a timeout would look like a bad request.
/// </summary>
internal sealed class TimeoutStatusMiddleware(RequestDelegate next, RequestTimeoutsConf conf)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.HasStarted) return;
        if (context.Features.Get<IForwarderErrorFeature>() is not { Error: ForwarderError.RequestCanceled or ForwarderError.RequestTimedOut }) return;
        // A timeout of the cluster's own (HttpRequest.ActivityTimeout) is YARP's 504, not a policy's.
        if (context.Features.Get<IHttpRequestTimeoutFeature>() is not { RequestTimeoutToken.IsCancellationRequested: true }) return;
        context.Response.StatusCode = StatusOf(context.GetEndpoint());
    }

    private int StatusOf(Endpoint? endpoint)
    {
        var attribute = endpoint?.Metadata.GetMetadata<RequestTimeoutAttribute>();
        if (attribute is null) return conf.DefaultPolicy?.TimeoutStatusCode ?? StatusCodes.Status504GatewayTimeout;
        if (attribute.PolicyName is { } name && conf.Policies?.TryGetValue(name, out var policy) == true) return policy.TimeoutStatusCode;
        return StatusCodes.Status504GatewayTimeout; // a route's own Timeout
    }
}
