using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pingora.Proxy.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Pingora.Proxy.AccessLog;

/// <summary>The access log's two lines in the host: its services, and its middleware first in the pipeline.</summary>
public static class AccessLogRegistration
{
    /// <param name="file">The opened access_log, or null when it is off (request ids are still given).</param>
    public static IServiceCollection AddAccessLog(this IServiceCollection services, ServerConf server, AccessLogFile? file)
    {
        if (file is null) return services;
        var format = AccessLogFormats.Parse(server.AccessLogFormat) ?? AccessLogFormat.Combined;
        services.AddSingleton(provider => new AccessLogWriter(file, format, provider.GetRequiredService<ILogger<AccessLogWriter>>()));
        services.AddSingleton<ITransformProvider, UpstreamTiming>();
        return services;
    }

    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        var writer = app.ApplicationServices.GetService<AccessLogWriter>();
        return app.Use(next => new AccessLogMiddleware(next, writer).InvokeAsync);
    }
}
