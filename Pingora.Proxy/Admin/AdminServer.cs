using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Descriptors;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Metrics;

namespace Pingora.Proxy.Admin;

/// <summary>
/// The admin listener's own Kestrel host, on the registry's admin socket (so an upgrade hands it over like the
/// others, and the kernel queues scrapes while the processes swap). A host of its own, not a branch of the proxy's:
/// the proxy's graceful stop unbinds every listener it serves, and /ready must keep answering (503) through a
/// SIGTERM drain, until the exit. After a committed handoff it stops accepting with the public listeners, so that
/// scrapes reach the successor.
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenerSocket _listener;

    private AdminServer(WebApplication app, ListenerSocket listener)
    {
        _app = app;
        _listener = listener;
    }

    public static AdminServer Build(ServerConf server, ListenerSocket listener, ProcessStatus status, ConnectionTracker connections,
        Serilog.ILogger log)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        LogSetup.RouteFrameworkLogs(builder.Logging, server, log);
        builder.Services.AddSingleton<IHostLifetime, OwnedHostLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.UseKestrelCore();
        builder.Services.AddSingleton<IConnectionListenerFactory, RegistryListenerFactory>();
        // Its own accept gate: the admin host pauses when descriptors run short, as the proxy does (with its own reserve).
        builder.Services.AddSingleton(new DescriptorReserve());
        builder.Services.AddSingleton(new ConnectionTracker());
        builder.Services.AddSingleton<AcceptGate>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        var app = builder.Build();

        var readiness = new Readiness(status.Lifecycle);
        AdminEndpoints.Map(app, status, readiness, () => connections.Active, ProxyMetrics.Default.Registry);
        var kestrel = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        kestrel.Listen(new RegistryEndPoint(listener), options => options.Protocols = HttpProtocols.Http1);
        status.Lifecycle.Entered += phase =>
        {
            // Only cancels the pending accept; the fd closes at exit (the successor holds the socket).
            if (phase == Phase.StopAccepting && readiness.HandedOver) listener.StopAccepting();
        };
        return new AdminServer(app, listener);
    }

    public Task StartAsync() => _app.StartAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _app.StopAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // A scraper that keeps its connection is cut: the process is exiting.
        }
        await _app.DisposeAsync();
        await _listener.CloseAsync();
    }
}
