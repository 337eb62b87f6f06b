using System.Diagnostics;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// Adds to every route a request transform (the last before YARP sends: the upstream clock starts) and a response
/// transform (the upstream's headers are in: its status, and the clock stops), recorded for the access log.
/// </summary>
internal sealed class UpstreamTiming : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context) { }

    public void ValidateCluster(TransformClusterValidationContext context) { }

    public void Apply(TransformBuilderContext context)
    {
        context.AddRequestTransform(transform =>
        {
            if (transform.HttpContext.Features.Get<AccessLogRecord>() is { } record) record.UpstreamStart = Stopwatch.GetTimestamp();
            return ValueTask.CompletedTask;
        });
        context.AddResponseTransform(transform =>
        {
            if (transform.HttpContext.Features.Get<AccessLogRecord>() is { } record && transform.ProxyResponse is { } response)
            {
                record.UpstreamEnd = Stopwatch.GetTimestamp();
                record.UpstreamStatus = (int)response.StatusCode;
            }
            return ValueTask.CompletedTask;
        });
    }
}
