using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Yarp.ReverseProxy.Forwarder;

namespace Pingora.Proxy.Policies;

/// <summary>
/// Gives a timed-out proxied request its policy's <c>TimeoutStatusCode</c>. ASP.NET Core's middleware sets that status
/// only when the endpoint throws; YARP does not throw on a timeout but answers 504 itself (ForwarderError.RequestTimedOut),
/// so without this every policy's status would be 504.
/// </summary>
internal sealed class TimeoutStatusMiddleware(RequestDelegate next, RequestTimeoutsConf conf)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.HasStarted) return;
        if (context.Features.Get<IForwarderErrorFeature>()?.Error != ForwarderError.RequestTimedOut) return;
        // A timeout of the cluster's own (HttpRequest.ActivityTimeout) is YARP's 504, not a policy's.
        if (context.Features.Get<IHttpRequestTimeoutFeature>() is not { RequestTimeoutToken.IsCancellationRequested: true }) return;
        if (StatusOf(context.GetEndpoint()) is { } status) context.Response.StatusCode = status;
    }

    private int? StatusOf(Endpoint? endpoint)
    {
        var attribute = endpoint?.Metadata.GetMetadata<RequestTimeoutAttribute>();
        if (attribute is null) return conf.DefaultPolicy?.TimeoutStatusCode;
        if (attribute.PolicyName is { } name && conf.Policies?.TryGetValue(name, out var policy) == true) return policy.TimeoutStatusCode;
        return null; // a route's own Timeout: 504, which YARP already set
    }
}
