using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Pingora.Proxy.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Pingora.Proxy.AccessLog;

/// <summary>The access log's two lines in the host: its services, and its middleware first in the pipeline.</summary>
public static class AccessLogRegistration
{
    /// <param name="log">The opened access_log, or null when it is off (request ids are still given).</param>
    public static IServiceCollection AddAccessLog(this IServiceCollection services, ServerConf server, AccessLogBuffer? log)
    {
        if (log is null) return services;
        var format = AccessLogFormats.Parse(server.AccessLogFormat) ?? AccessLogFormat.Combined;
        services.AddSingleton(new AccessLogWriter(log, format));
        services.AddSingleton<ITransformProvider, UpstreamTiming>();
        return services;
    }

    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        var writer = app.ApplicationServices.GetService<AccessLogWriter>();
        return app.Use(next => new AccessLogMiddleware(next, writer).InvokeAsync);
    }
}
