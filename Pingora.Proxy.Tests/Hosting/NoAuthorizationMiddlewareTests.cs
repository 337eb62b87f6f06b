using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Pingora.Proxy.Hosting;

namespace Pingora.Proxy.Tests.Hosting;

[TestFixture]
public sealed class NoAuthorizationMiddlewareTests
{
    // What the authorization middleware leaves in Items when it ran for an endpoint (the endpoint middleware reads it).
    private const string Ran = "__AuthorizationMiddlewareWithEndpointInvoked";

    [TestCase(false, ExpectedResult = true)]
    [TestCase(true, ExpectedResult = false)]
    public async Task<bool> WebApplication_adds_authorization_unless_suppressed(bool suppress)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddRouting();
        builder.Services.AddAuthorization();
        var server = new CapturingServer();
        builder.Services.AddSingleton<IServer>(server);
        await using var app = builder.Build();
        if (suppress) NoAuthorizationMiddleware.Suppress(app);
        var ran = false;
        app.MapGet("/", context =>
        {
            ran = context.Items.ContainsKey(Ran);
            return Task.CompletedTask;
        });
        await app.StartAsync();
        await server.SendAsync("/");
        await app.StopAsync();
        return ran;
    }

    /// <summary>A server that only hands one request to the application it is given.</summary>
    private sealed class CapturingServer : IServer
    {
        private Func<IFeatureCollection, Task>? _send;

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
        {
            _send = async features =>
            {
                var context = application.CreateContext(features);
                await application.ProcessRequestAsync(context);
                application.DisposeContext(context, null);
            };
            return Task.CompletedTask;
        }

        public Task SendAsync(string path)
        {
            var features = new FeatureCollection();
            features.Set<IHttpRequestFeature>(new HttpRequestFeature { Method = "GET", Path = path, Protocol = "HTTP/1.1" });
            features.Set<IHttpResponseFeature>(new HttpResponseFeature());
            features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
            return _send!(features);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() { }
    }
}
