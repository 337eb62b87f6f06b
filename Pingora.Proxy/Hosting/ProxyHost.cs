using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pingora.Proxy.AccessLog;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Descriptors;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Files;
using Pingora.Proxy.Http2Drain;
using Pingora.Proxy.Limits;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Memory;
using Pingora.Proxy.Metrics;
using Pingora.Proxy.Policies;
using Pingora.Proxy.ProxyProtocol;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// The HTTP side of the daemon: Kestrel serving on the registry's sockets, YARP proxying by the file's routes and
/// clusters, and the status endpoint. The lifecycle decides when it starts and stops; this class only builds it.
/// </summary>
public sealed class ProxyHost : IAsyncDisposable
{
    private readonly PingoraConfig _config;
    private readonly ConnectionTracker _tracker;
    private readonly ProcessStatus _status;
    private readonly Serilog.ILogger _log;
    private readonly AccessLogBuffer? _accessLog;
    // Read once, before privileges are dropped: a restarted host may no longer be able to read the key files.
    private readonly Dictionary<ListenAddress, X509Certificate2> _certificates = [];
    // Hosts whose stop began before a revert restarted this one; their connections finish there, disposed at the end.
    private readonly List<WebApplication> _stopping = [];
    private WebApplication _app;
    private InMemoryConfigProvider _routes;
    private (ListenerRegistry Registry, IReadOnlyList<ListenerConf> Listeners)? _listen;
    private volatile bool _stopStarted;
    private readonly PolicyPipeline _policies;

    private ProxyHost(WebApplication app, PingoraConfig config, ConnectionTracker tracker, ProcessStatus status, Serilog.ILogger log,
        AccessLogBuffer? accessLog, PolicyPipeline policies)
    {
        _accessLog = accessLog;
        _app = app;
        _config = config;
        _tracker = tracker;
        _status = status;
        _log = log;
        _policies = policies;
        _routes = app.Services.GetRequiredService<InMemoryConfigProvider>();
    }

    /// <summary>
    /// Builds everything but the listeners (<see cref="Listen"/>), so that a successor can build while it waits for
    /// its predecessor's sockets: the build is a good part of its start.
    /// </summary>
    public static ProxyHost Build(PingoraConfig config, ConnectionTracker tracker, ProcessStatus status, Serilog.ILogger log,
        AccessLogBuffer? accessLog = null) =>
        Build(config, tracker, status, log, accessLog, new PolicyPipeline(config.Policies));

    private static ProxyHost Build(PingoraConfig config, ConnectionTracker tracker, ProcessStatus status, Serilog.ILogger log,
        AccessLogBuffer? accessLog, PolicyPipeline policies)
    {
        policies.Track(config.Routes);
        return new(BuildApp(config, ConfigFingerprint.Stamp(config.Routes), ConfigFingerprint.Stamp(config.Clusters), tracker, status, log,
            accessLog, policies), config, tracker, status, log, accessLog, policies);
    }

    private static WebApplication BuildApp(PingoraConfig config, IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters,
        ConnectionTracker tracker, ProcessStatus status, Serilog.ILogger log, AccessLogBuffer? accessLog, PolicyPipeline policies)
    {
        // The empty builder reads no appsettings.json and no ASPNETCORE_* variables: the YAML file is the only
        // configuration, so nothing in the environment can add a listener or change a limit behind its back.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        LogSetup.RouteFrameworkLogs(builder.Logging, config.Server, log);

        builder.Services.AddSingleton<IHostLifetime, OwnedHostLifetime>();
        // The drain deadline is the lifecycle's to set (StopAsync's token), not the host's 30 s default.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Services.AddSingleton<IConnectionListenerFactory, RegistryListenerFactory>();
        // Held from the build on, before any connection can take the last descriptors (see DescriptorReserve).
        builder.Services.AddSingleton(new DescriptorReserve());
        builder.Services.AddSingleton(tracker);
        builder.Services.AddSingleton<AcceptGate>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            KestrelLimitsCopy.CopyInto(config.Kestrel.Limits, kestrel.Limits);
        });

        // YARP protects session-affinity cookies with Data Protection. Its default key ring lives in $HOME, which a
        // daemon should not write to (and cannot after dropping privileges), so choose explicitly. The repository,
        // not only the provider: Data Protection's hosted service loads the key ring at start, from the default
        // place unless the repository is set (an error with a stack trace at every start as root with `user`).
        var protection = builder.Services.AddDataProtection().SetApplicationName("pingora");
        if (config.Server.SessionAffinityKeysDir is { } keys) protection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        else protection.AddKeyManagementOptions(o =>
        {
            o.XmlRepository = new InMemoryKeyRepository();
            o.XmlEncryptor = new NullXmlEncryptor(); // in memory only: nothing to protect the keys from at rest
        });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<IdleMemoryTrim>();
        builder.Services.AddAccessLog(config.Server, accessLog);
        builder.Services.AddRouting();
        PolicyPipeline.AddServices(builder.Services, config.Policies);
        var proxy = builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);
        // Each destination's host name becomes one destination per address, looked up again every period; YARP
        // then swaps the cluster's destinations as it does on a reload. Off by default: SocketsHttpHandler resolves
        // per connection, and the resolver renames every destination ("d1" becomes "d1[127.0.0.1]").
        if (config.Server.DnsRefreshSeconds > 0)
            proxy.AddDnsDestinationResolver(o => o.RefreshPeriod = TimeSpan.FromSeconds(config.Server.DnsRefreshSeconds));

        var app = builder.Build();
        NoAuthorizationMiddleware.Suppress(app);
        app.UseAccessLog(); // first: it sees every response, pingora's own and 404s included
        app.UseRequestTracking(tracker);
        var metrics = Metrics(config.Server);
        if (metrics is not null) app.UseRequestMetrics(metrics);
        app.UseStatusEndpoint(config.Server.StatusPath, status, tracker);
        // Explicit, so the policies run after routing has chosen the route whose metadata names them.
        app.UseRouting();
        policies.Use(app);
        if (metrics is not null) app.MapReverseProxy(UpstreamMetrics.Pipeline(metrics));
        else app.MapReverseProxy(ProxyPipeline.Default);
        return app;
    }

    /// <summary>
    /// The process's instruments when an admin listener can serve them; without one nothing could scrape them, so
    /// the per-request and per-connection recording is not put on the request path at all.
    /// </summary>
    internal static ProxyMetrics? Metrics(ServerConf server) => server.AdminListener is null ? null : ProxyMetrics.ForProcess(server.AdminRequestMeters);

    /// <summary>
    /// Gives Kestrel the registry's sockets, each configured as its <paramref name="listeners"/> entry says. Reads
    /// the TLS certificates and keys, so it runs before privileges are dropped. Kestrel takes its listen options
    /// at start, so they may be added to the built host until then.
    /// </summary>
    public void Listen(ListenerRegistry registry, IReadOnlyList<ListenerConf> listeners)
    {
        _listen = (registry, listeners);
        var kestrel = _app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        var loggers = _app.Services.GetRequiredService<ILoggerFactory>();
        foreach (var listener in registry.Listeners)
        {
            var conf = listeners.Single(l => l.Address.Equals(listener.Address));
            kestrel.Listen(new RegistryEndPoint(listener), options => ConfigureListener(options, conf, loggers));
        }
    }

    private void ConfigureListener(ListenOptions options, ListenerConf conf, ILoggerFactory loggers)
    {
        options.Protocols = Protocols(conf);
        options.UseConnectionTracking(_tracker);
        if (Metrics(_config.Server) is { } metrics) options.UseConnectionMetrics(metrics, conf.Address.ToString());
        // After tracking (a connection counts while it sends its header), before TLS (the header precedes the handshake).
        if (conf.ProxyProtocol) options.UseProxyProtocol(loggers, conf.Address.ToString());
        if (conf.Tls is { } tls)
        {
            if (!_certificates.TryGetValue(conf.Address, out var certificate))
                _certificates[conf.Address] = certificate = LoadCertificate(conf.Address, tls);
            options.UseHttps(certificate);
        }
        if (options.Protocols.HasFlag(HttpProtocols.Http2))
            options.UseHttp2DrainWake(_tracker);
    }

    /// <summary>-t loads the same files, but as whoever ran it, and the files may have changed since.</summary>
    private static X509Certificate2 LoadCertificate(ListenAddress address, TlsConf tls)
    {
        var loaded = PemCertificate.Load(tls.CertificatePath, tls.KeyPath);
        return loaded.Certificate
            ?? throw new ListenerException($"{address}: cannot load TLS certificate {tls.CertificatePath} with key {tls.KeyPath}: {loaded.Error}");
    }

    private static HttpProtocols Protocols(ListenerConf conf)
    {
        if (conf.Protocols is not { Count: > 0 } names)
            return conf.Tls is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
        var protocols = HttpProtocols.None;
        foreach (var name in names)
            protocols |= name == "http2" /* ConfigLoader lower-cases them */ ? HttpProtocols.Http2 : HttpProtocols.Http1;
        return protocols;
    }

    public Task StartAsync(CancellationToken cancellationToken) => _app.StartAsync(cancellationToken);

    /// <summary>
    /// Kestrel's graceful stop: idle connections close at once, busy HTTP/1.1 ones answer their current request
    /// with Connection: close, HTTP/2 ones get GOAWAY. Completes when the last connection is gone, or aborts what
    /// is left when <paramref name="deadline"/> is cancelled.
    /// </summary>
    public Task StopAsync(CancellationToken deadline)
    {
        _stopStarted = true;
        return _app.StopAsync(deadline);
    }

    /// <summary>A stop has begun: Kestrel has unbound its listeners and cannot start again (see <see cref="RestartAsync"/>).</summary>
    public bool StopStarted => _stopStarted;

    /// <summary>
    /// After a stop began (a handover's drain that a successor's death reverted): a fresh Kestrel and YARP on the
    /// same listener sockets, with the routes in force and the certificates already read. The stopping host keeps
    /// finishing its own connections meanwhile. Connections arriving until the new host accepts wait in the queue.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        if (_listen is not { } listen) throw new InvalidOperationException("the host never listened");
        var current = _routes.GetConfig(); // stamped already (ApplyRoutes, Build)
        var app = BuildApp(_config, current.Routes, current.Clusters, _tracker, _status, _log, _accessLog, _policies);
        lock (_stopping) _stopping.Add(_app);
        _app = app;
        _routes = app.Services.GetRequiredService<InMemoryConfigProvider>();
        _stopStarted = false;
        Listen(listen.Registry, listen.Listeners);
        await app.StartAsync(cancellationToken);
    }

    /// <summary>Swaps routes and clusters atomically; requests in flight finish on the snapshot they started on. Every
    /// changed key applies, including those YARP's change detection misses (see <see cref="ConfigFingerprint"/>).</summary>
    public void ApplyRoutes(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
    {
        _policies.Enable(routes);
        _routes.Update(ConfigFingerprint.Stamp(routes), ConfigFingerprint.Stamp(clusters));
        _policies.Track(routes);
    }

    public async ValueTask DisposeAsync()
    {
        WebApplication[] stopping;
        lock (_stopping) stopping = [.. _stopping];
        foreach (var app in stopping) await app.DisposeAsync();
        await _app.DisposeAsync();
    }
}
