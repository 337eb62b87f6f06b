using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Listeners;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

[TestFixture]
public class ConfigLoaderValidFileTests
{
    private TestFiles _files = null!;

    [OneTimeSetUp]
    public void CreateFiles() => _files = new TestFiles();

    [OneTimeTearDown]
    public void DeleteFiles() => _files.Dispose();

    private string FullFile() => $$"""
        version: 1
        daemon: true
        error_log: /var/log/pingora/error.log
        pid_file: /run/pingora/pingora.pid
        upgrade_sock: /run/pingora/upgrade.sock
        user: www-data
        group: www-data
        working_directory: /srv
        threads: 4
        grace_period_seconds: 120
        graceful_shutdown_timeout_seconds: 0
        daemon_wait_for_ready: true
        daemon_ready_timeout_seconds: 90
        daemon_notify_timeout_seconds: 15
        log_level: debug
        status_path: /_status
        close_timeout_seconds: 3
        upgrade_connect_timeout_seconds: 4
        upgrade_wait_timeout_seconds: 20
        upgrade_ack_timeout_seconds: 25
        drain_idle_timeout_seconds: 1.5
        listeners:
          - address: 0.0.0.0:8080
          - address: "[::1]:8443"
            tls:
              certificate_path: {{_files.CertificatePath}}
              key_path: {{_files.KeyPath}}
            protocols: [Http1, http2]
            proxy_protocol: true
        ReverseProxy:
          Routes:
            api:
              ClusterId: backend
              Order: 10
              MaxRequestBodySize: 1048576
              Match:
                Path: /api/{**rest}
                Hosts: [example.com, "*.example.org"]
                Methods: [GET, POST]
                Headers:
                  - Name: X-Tenant
                    Values: [blue, green]
                    Mode: HeaderPrefix
                    IsCaseSensitive: true
                QueryParameters:
                  - Name: version
                    Values: ["2"]
                    Mode: exact
              Transforms:
                - PathRemovePrefix: /api
                - RequestHeader: X-Forwarded-Prefix
                  Set: /api
              Metadata:
                team: payments
          Clusters:
            backend:
              LoadBalancingPolicy: LeastRequests
              SessionAffinity:
                Enabled: true
                Policy: Cookie
                FailurePolicy: Return503Error
                AffinityKeyName: .Pingora.Affinity
                Cookie:
                  Path: /
                  HttpOnly: true
                  SameSite: Strict
                  SecurePolicy: Always
                  Expiration: "01:00:00"
              HealthCheck:
                AvailableDestinationsPolicy: HealthyOrPanic
                Active:
                  Enabled: true
                  Interval: "00:00:10"
                  Timeout: "00:00:05"
                  Policy: ConsecutiveFailures
                  Path: /health
                Passive:
                  Enabled: true
                  Policy: TransportFailureRate
                  ReactivationPeriod: "00:02:00"
              HttpClient:
                SslProtocols: [Tls12, Tls13]
                MaxConnectionsPerServer: 100
                DangerousAcceptAnyServerCertificate: false
                EnableMultipleHttp2Connections: true
                RequestHeaderEncoding: utf-8
              HttpRequest:
                Version: "2.0"
                VersionPolicy: RequestVersionOrLower
                ActivityTimeout: "00:01:40"
                AllowResponseBuffering: false
              Destinations:
                d1:
                  Address: http://10.0.0.1:5000/
                  Health: http://10.0.0.1:5001/
                  Metadata: { zone: a }
                d2:
                  Address: http://10.0.0.2:5000/
              Metadata:
                owner: platform
        """;

    private PingoraConfig LoadFull()
    {
        var result = ConfigLoader.Parse(FullFile(), "full.yaml");
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        Assert.That(result.Warnings, Is.Empty, string.Join("\n", result.Warnings));
        Assert.That(result.Ok, Is.True);
        return result.Config!;
    }

    [Test]
    public void FullFile_BindsEveryServerKey()
    {
        var config = LoadFull();
        var s = config.Server;
        Assert.That(config.FilePath, Is.EqualTo("full.yaml"));
        Assert.That(s.Version, Is.EqualTo(1));
        Assert.That(s.Daemon, Is.True);
        Assert.That(s.ErrorLog, Is.EqualTo("/var/log/pingora/error.log"));
        Assert.That(s.PidFile, Is.EqualTo("/run/pingora/pingora.pid"));
        Assert.That(s.UpgradeSock, Is.EqualTo("/run/pingora/upgrade.sock"));
        Assert.That(s.User, Is.EqualTo("www-data"));
        Assert.That(s.Group, Is.EqualTo("www-data"));
        Assert.That(s.WorkingDirectory, Is.EqualTo("/srv"));
        Assert.That(s.Threads, Is.EqualTo(4));
        Assert.That(s.GracePeriodSeconds, Is.EqualTo(120));
        Assert.That(s.GracefulShutdownTimeoutSeconds, Is.EqualTo(0));
        Assert.That(s.DaemonWaitForReady, Is.True);
        Assert.That(s.DaemonReadyTimeoutSeconds, Is.EqualTo(90));
        Assert.That(s.DaemonNotifyTimeoutSeconds, Is.EqualTo(15));
        Assert.That(s.LogLevel, Is.EqualTo("debug"));
        Assert.That(s.StatusPath, Is.EqualTo("/_status"));
        Assert.That(s.CloseTimeoutSeconds, Is.EqualTo(3));
        Assert.That(s.UpgradeConnectTimeoutSeconds, Is.EqualTo(4));
        Assert.That(s.UpgradeWaitTimeoutSeconds, Is.EqualTo(20));
        Assert.That(s.UpgradeAckTimeoutSeconds, Is.EqualTo(25));
        Assert.That(s.DrainIdleTimeoutSeconds, Is.EqualTo(1.5));
    }

    [Test]
    public void FullFile_BindsListenersWithTlsAndNormalizedProtocols()
    {
        var listeners = LoadFull().Listeners;
        Assert.That(listeners, Has.Count.EqualTo(2));
        Assert.That(listeners[0].Address, Is.EqualTo(new ListenAddress(new IPEndPoint(IPAddress.Any, 8080))));
        Assert.That(listeners[0].Tls, Is.Null);
        Assert.That(listeners[0].Protocols, Is.Null);
        Assert.That(listeners[1].Address, Is.EqualTo(new ListenAddress(new IPEndPoint(IPAddress.IPv6Loopback, 8443))));
        Assert.That(listeners[1].Tls!.CertificatePath, Is.EqualTo(_files.CertificatePath));
        Assert.That(listeners[1].Tls!.KeyPath, Is.EqualTo(_files.KeyPath));
        Assert.That(listeners[1].Protocols, Is.EqualTo(new[] { "http1", "http2" }));
        Assert.That(listeners[0].ProxyProtocol, Is.False, "off unless asked for");
        Assert.That(listeners[1].ProxyProtocol, Is.True);
    }

    [Test]
    public void FullFile_BindsRouteWithIdFromKey()
    {
        var route = LoadFull().Routes.Single();
        Assert.That(route.RouteId, Is.EqualTo("api"));
        Assert.That(route.ClusterId, Is.EqualTo("backend"));
        Assert.That(route.Order, Is.EqualTo(10));
        Assert.That(route.MaxRequestBodySize, Is.EqualTo(1048576L));
        Assert.That(route.Match.Path, Is.EqualTo("/api/{**rest}"));
        Assert.That(route.Match.Hosts, Is.EqualTo(new[] { "example.com", "*.example.org" }));
        Assert.That(route.Match.Methods, Is.EqualTo(new[] { "GET", "POST" }));

        var header = route.Match.Headers!.Single();
        Assert.That(header.Name, Is.EqualTo("X-Tenant"));
        Assert.That(header.Values, Is.EqualTo(new[] { "blue", "green" }));
        Assert.That(header.Mode, Is.EqualTo(HeaderMatchMode.HeaderPrefix));
        Assert.That(header.IsCaseSensitive, Is.True);

        var query = route.Match.QueryParameters!.Single();
        Assert.That(query.Name, Is.EqualTo("version"));
        Assert.That(query.Values, Is.EqualTo(new[] { "2" }));
        Assert.That(query.Mode, Is.EqualTo(QueryParameterMatchMode.Exact), "enum names match case-insensitively");
        Assert.That(query.IsCaseSensitive, Is.False);

        Assert.That(route.Transforms, Has.Count.EqualTo(2));
        Assert.That(route.Transforms![0]["PathRemovePrefix"], Is.EqualTo("/api"));
        Assert.That(route.Transforms[1]["RequestHeader"], Is.EqualTo("X-Forwarded-Prefix"));
        Assert.That(route.Transforms[1]["set"], Is.EqualTo("/api"), "transform keys compare case-insensitively, as in YARP");
        Assert.That(route.Metadata!["team"], Is.EqualTo("payments"));
    }

    [Test]
    public void FullFile_BindsClusterWithEverySection()
    {
        var cluster = LoadFull().Clusters.Single();
        Assert.That(cluster.ClusterId, Is.EqualTo("backend"));
        Assert.That(cluster.LoadBalancingPolicy, Is.EqualTo("LeastRequests"));

        var affinity = cluster.SessionAffinity!;
        Assert.That(affinity.Enabled, Is.True);
        Assert.That(affinity.Policy, Is.EqualTo("Cookie"));
        Assert.That(affinity.FailurePolicy, Is.EqualTo("Return503Error"));
        Assert.That(affinity.AffinityKeyName, Is.EqualTo(".Pingora.Affinity"));
        Assert.That(affinity.Cookie!.Path, Is.EqualTo("/"));
        Assert.That(affinity.Cookie.HttpOnly, Is.True);
        Assert.That(affinity.Cookie.SameSite, Is.EqualTo(SameSiteMode.Strict));
        Assert.That(affinity.Cookie.SecurePolicy, Is.EqualTo(CookieSecurePolicy.Always));
        Assert.That(affinity.Cookie.Expiration, Is.EqualTo(TimeSpan.FromHours(1)));

        var health = cluster.HealthCheck!;
        Assert.That(health.AvailableDestinationsPolicy, Is.EqualTo("HealthyOrPanic"));
        Assert.That(health.Active!.Enabled, Is.True);
        Assert.That(health.Active.Interval, Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(health.Active.Timeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(health.Active.Policy, Is.EqualTo("ConsecutiveFailures"));
        Assert.That(health.Active.Path, Is.EqualTo("/health"));
        Assert.That(health.Passive!.Enabled, Is.True);
        Assert.That(health.Passive.Policy, Is.EqualTo("TransportFailureRate"));
        Assert.That(health.Passive.ReactivationPeriod, Is.EqualTo(TimeSpan.FromMinutes(2)));

        var client = cluster.HttpClient!;
        Assert.That(client.SslProtocols, Is.EqualTo(SslProtocols.Tls12 | SslProtocols.Tls13));
        Assert.That(client.MaxConnectionsPerServer, Is.EqualTo(100));
        Assert.That(client.DangerousAcceptAnyServerCertificate, Is.False);
        Assert.That(client.EnableMultipleHttp2Connections, Is.True);
        Assert.That(client.RequestHeaderEncoding, Is.EqualTo("utf-8"));

        var request = cluster.HttpRequest!;
        Assert.That(request.Version, Is.EqualTo(new Version(2, 0)));
        Assert.That(request.VersionPolicy, Is.EqualTo(HttpVersionPolicy.RequestVersionOrLower));
        Assert.That(request.ActivityTimeout, Is.EqualTo(TimeSpan.FromSeconds(100)));
        Assert.That(request.AllowResponseBuffering, Is.False);

        Assert.That(cluster.Destinations!.Keys, Is.EquivalentTo(new[] { "d1", "d2" }));
        Assert.That(cluster.Destinations["d1"].Address, Is.EqualTo("http://10.0.0.1:5000/"));
        Assert.That(cluster.Destinations["d1"].Health, Is.EqualTo("http://10.0.0.1:5001/"));
        Assert.That(cluster.Destinations["d1"].Metadata!["zone"], Is.EqualTo("a"));
        Assert.That(cluster.Destinations["D2"].Address, Is.EqualTo("http://10.0.0.2:5000/"), "destination ids compare case-insensitively");
        Assert.That(cluster.Metadata!["owner"], Is.EqualTo("platform"));
    }

    [Test]
    public void AbsentKeys_TakePingorasDefaults()
    {
        var result = ConfigLoader.Parse("listeners:\n  - address: 127.0.0.1:8080\n", "min.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        var s = result.Config!.Server;
        Assert.That(s.Version, Is.EqualTo(1));
        Assert.That(s.Daemon, Is.False);
        Assert.That(s.ErrorLog, Is.Null);
        Assert.That(s.PidFile, Is.EqualTo("/tmp/pingora.pid"));
        Assert.That(s.UpgradeSock, Is.EqualTo("/tmp/pingora_upgrade.sock"));
        Assert.That(s.User, Is.Null);
        Assert.That(s.Group, Is.Null);
        Assert.That(s.Threads, Is.EqualTo(1));
        Assert.That(s.GracePeriodSeconds, Is.EqualTo(300));
        Assert.That(s.GracefulShutdownTimeoutSeconds, Is.EqualTo(5));
        Assert.That(s.DaemonWaitForReady, Is.False);
        Assert.That(s.DaemonReadyTimeoutSeconds, Is.EqualTo(600));
        Assert.That(s.DaemonNotifyTimeoutSeconds, Is.EqualTo(60));
        Assert.That(s.LogLevel, Is.EqualTo("information"));
        Assert.That(s.StatusPath, Is.Null);
        // Without a ReverseProxy section the daemon is valid: it serves only its status endpoint.
        Assert.That(result.Config.Routes, Is.Empty);
        Assert.That(result.Config.Clusters, Is.Empty);
        Assert.That(result.Warnings, Is.Empty);
    }

    [Test]
    public void PingoraKeysWithoutEffect_WarnButLoad()
    {
        const string yaml = """
            version: 1
            work_stealing: true
            ca_file: /etc/ssl/ca.pem
            upstream_keepalive_pool_size: 128
            listeners:
              - address: 127.0.0.1:8080
            """;
        var result = ConfigLoader.Parse(yaml, "p.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        Assert.That(result.Warnings.Select(w => w.ToString()), Is.EqualTo(new[]
        {
            "p.yaml:2:1: work_stealing: Pingora key 'work_stealing' has no effect in pingora (.NET)",
            "p.yaml:3:1: ca_file: Pingora key 'ca_file' has no effect in pingora (.NET)",
            "p.yaml:4:1: upstream_keepalive_pool_size: Pingora key 'upstream_keepalive_pool_size' has no effect in pingora (.NET)",
        }));
    }

    [Test]
    public void Load_ReadsTheFile()
    {
        var path = _files.Write("ok.yaml", "threads: 2\nlisteners:\n  - address: 127.0.0.1:8080\n");
        var result = ConfigLoader.Load(path);
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        Assert.That(result.Config!.FilePath, Is.EqualTo(path));
        Assert.That(result.Config.Server.Threads, Is.EqualTo(2));
    }

    /// <summary>YARP 2.3 ships HashCookie (System.IO.Hashing restores with it), and it is YARP's default policy.</summary>
    [TestCase("Policy: HashCookie", "HashCookie")]
    [TestCase("Policy: Cookie", "Cookie")]
    [TestCase("Policy: CustomHeader", "CustomHeader")]
    [TestCase("", null)]
    public void SessionAffinity_EveryPolicyYarpShipsIsAccepted(string policyField, string? policy)
    {
        var yaml = $$"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1: { ClusterId: c1, Match: { Path: "/{**all}" } }
              Clusters:
                c1:
                  SessionAffinity: { Enabled: true, {{policyField}}{{(policyField == "" ? "" : ", ")}}AffinityKeyName: X-Affinity }
                  Destinations: { d1: { Address: "http://127.0.0.1:5000/" } }
            """;
        var result = ConfigLoader.Parse(yaml, "a.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        Assert.That(result.Config!.Clusters[0].SessionAffinity!.Policy, Is.EqualTo(policy));
    }
}
