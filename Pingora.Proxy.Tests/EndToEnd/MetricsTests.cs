using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>The admin listener's /metrics: our counters move with traffic, labelled by route, and the admin endpoints
/// are never answered on a public listener (which routes the same path to its backend).</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class MetricsTests : PingoraTestBase
{
    private static string Requests(string route, string cluster, string code) =>
        $"pingora_requests_total{{route=\"{route}\",cluster=\"{cluster}\",method=\"GET\",code=\"{code}\"}}";

    [Test]
    public async Task Request_counters_move_with_traffic_by_route_and_the_public_listener_proxies_admin_paths()
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig().WithAdminListener();
        var listener = config.AddListener();
        config.AddRoute("echo", "c1", "/echo/{**rest}");
        config.AddRoute("rest", "c2", "/{**rest}").Order = 100;
        config.AddCluster("c1", a);
        config.AddCluster("c2", "http://127.0.0.1:1/"); // nothing listens: 502
        var pingora = await StartServingAsync(config);
        var client = NewClient();

        var before = await PrometheusScrape.GetAsync(client, config.AdminUrl("/metrics"));
        for (var i = 0; i < 3; i++) await client.GetEchoAsync(listener.Url($"/echo/{i}"));
        using (var failed = await client.GetAsync(listener.Url("/unreachable")))
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        // A public listener never answers the admin endpoints: its catch-all route sends /metrics on (to c2, a 502).
        using (var publicMetrics = await client.GetAsync(listener.Url("/metrics")))
            Assert.That(publicMetrics.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), "/metrics on a public listener is proxied");
        var after = await PrometheusScrape.GetAsync(client, config.AdminUrl("/metrics"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(after.Value(Requests("echo", "c1", "200")) - (before[Requests("echo", "c1", "200")] ?? 0), Is.EqualTo(3), after.Text);
            Assert.That(after.Value(Requests("rest", "c2", "502")) - (before[Requests("rest", "c2", "502")] ?? 0), Is.EqualTo(2), after.Text);
            Assert.That(after.Value("pingora_request_duration_seconds_count{route=\"echo\"}"), Is.EqualTo(3));
            Assert.That(after.Value("pingora_upstream_duration_seconds_count{cluster=\"c1\",destination=\"d1\"}"), Is.EqualTo(3));
            Assert.That(after.Value("pingora_upstream_failures_total{cluster=\"c2\",kind=\"Request\"}"), Is.EqualTo(2));
            Assert.That(after.Value("pingora_destination_healthy{cluster=\"c1\",destination=\"d1\"}"), Is.EqualTo(1));
            Assert.That(after.Value("pingora_state{state=\"serving\"}"), Is.EqualTo(1));
            Assert.That(after.Value("pingora_generation"), Is.EqualTo(1));
            Assert.That(after.Value("process_start_time_seconds"), Is.GreaterThan(0));
            // .NET's own meters come along (Kestrel's, on the public listener's connections).
            Assert.That(after.Text, Does.Contain("microsoft_aspnetcore_server_kestrel_kestrel_active_connections"));
        }
        Assert.That(a.RequestCount, Is.EqualTo(3), "only the echo requests reached backend A");
        using var notFound = await client.GetAsync(config.AdminUrl("/echo/x"));
        Assert.That(notFound.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the admin listener proxies nothing");
        Assert.That(pingora.HasExited, Is.False);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Dotnets_per_request_meters_are_exported_only_with_admin_request_meters(bool requestMeters)
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig().WithAdminListener();
        config.AdminRequestMeters = requestMeters;
        var listener = config.AddListener();
        config.AddRoute("echo", "c1", "/{**rest}");
        config.AddCluster("c1", a);
        await StartServingAsync(config);
        var client = NewClient();
        // prometheus-net starts listening to .NET's meters at the first collection; what came before is not seen.
        await PrometheusScrape.GetAsync(client, config.AdminUrl("/metrics"));
        await client.GetEchoAsync(listener.Url("/echo/1"));

        var scrape = (await PrometheusScrape.GetAsync(client, config.AdminUrl("/metrics"))).Text;
        using (Assert.EnterMultipleScope())
        {
            // Per connection or observed: always there.
            Assert.That(scrape, Does.Contain("microsoft_aspnetcore_server_kestrel_kestrel_active_connections"));
            Assert.That(scrape, Does.Contain("system_net_http_http_client_open_connections"));
            // Per request: only when asked for (ours count the same).
            Assert.That(scrape.Contains("microsoft_aspnetcore_hosting_http_server_request_duration", StringComparison.Ordinal), Is.EqualTo(requestMeters), scrape);
            Assert.That(scrape.Contains("system_net_http_http_client_request_duration", StringComparison.Ordinal), Is.EqualTo(requestMeters));
            Assert.That(scrape, Does.Contain("pingora_requests_total{route=\"echo\""));
        }
    }
}
