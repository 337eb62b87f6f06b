using System.Net;
using System.Text.Json;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>The admin listener through the lifecycle: /ready turns 503 on SIGTERM and keeps answering during the
/// drain; an upgrade hands the admin socket over (no scrape refused) and the successor's scrape shows the lineage.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class AdminListenerTests : PingoraTestBase
{
    [Test]
    public async Task Ready_is_200_while_serving_and_503_on_new_connections_after_sigterm_while_draining()
    {
        var proxy = await StartProxyAsync(c => c.WithAdminListener().GracefulShutdownTimeoutSeconds = 20);
        var config = proxy.Config;
        var client = NewClient(timeout: TimeSpan.FromSeconds(60));
        using (var ready = await client.GetAsync(config.AdminUrl("/ready")))
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), "/ready while serving");

        // A slow response keeps the drain going while /ready is asked.
        using var slow = await client.GetAsync(proxy.Listener.Url("/slow?ms=4000&bytes=1000"), HttpCompletionOption.ResponseHeadersRead);
        var body = HttpClients.ReadBodyAsync(slow, TimeSpan.FromSeconds(30), "the in-flight /slow response");
        proxy.Pingora.Signal(Signals.SIGTERM);
        await proxy.Pingora.WaitForPhaseAsync("drain", Timeouts.Phase);

        // A new connection each time, as a load balancer's health check makes: the admin socket still accepts.
        using var fresh = NewClient();
        using (var draining = await fresh.GetAsync(config.AdminUrl("/ready")))
            Assert.That(draining.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "/ready while draining after SIGTERM");
        var status = await fresh.GetStatusAsync(config.AdminUrl("/status"));
        Assert.That(status.State, Is.EqualTo("draining"));
        await body;
        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.AfterConfigured(20)), Is.Zero, proxy.Pingora.LastLines());
    }

    [TestCase(UpgradeOrder.SuccessorFirst)]
    [TestCase(UpgradeOrder.SignalFirst)]
    public async Task An_upgrade_hands_over_the_admin_listener_without_refusing_a_scrape_and_carries_the_lineage(UpgradeOrder order)
    {
        var proxy = await StartProxyAsync(c => c.WithAdminListener());
        var config = proxy.Config;
        var predecessor = proxy.Pingora;
        var scrapes = StartLoad(new LoadClientOptions
        {
            BaseUri = config.AdminUrl("/"),
            Paths = ["/status", "/metrics", "/ready"],
        });
        await WaitForLoadAsync(scrapes, s => s.AnsweredBy(predecessor.Pid) >= 20, "admin answers from the predecessor", predecessor);

        var successor = await UpgradeAsync(predecessor, config, order);
        await WaitForLoadAsync(scrapes, s => s.AnsweredBy(successor.Pid) >= 20, "admin answers from the successor", predecessor, successor);
        await AwaitPredecessorExitAsync(predecessor, config);
        var before = scrapes.Snapshot().Successes;
        await WaitForLoadAsync(scrapes, s => s.Successes >= before + 20, "admin answers after the predecessor exited", predecessor, successor);
        var result = await scrapes.StopAsync();
        AssertNoFailures(result, predecessor, successor);

        var client = NewClient();
        var scrape = await PrometheusScrape.GetAsync(client, config.AdminUrl("/metrics"));
        using (var statusResponse = await client.GetAsync(config.AdminUrl("/status")))
        {
            var status = JsonDocument.Parse(await statusResponse.Content.ReadAsStringAsync()).RootElement;
            using (Assert.EnterMultipleScope())
            {
                Assert.That(status.GetProperty("pid").GetInt32(), Is.EqualTo(successor.Pid));
                Assert.That(status.GetProperty("generation").GetInt32(), Is.EqualTo(2));
                Assert.That(status.GetProperty("last_upgrade").GetString(), Is.EqualTo("committed"));
                Assert.That(status.GetProperty("state").GetString(), Is.EqualTo("serving"));
            }
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(scrape.Value("pingora_upgrades_total{outcome=\"committed\"}"), Is.EqualTo(1), scrape.Text);
            Assert.That(scrape.Value("pingora_upgrades_total{outcome=\"failed\"}"), Is.Zero, scrape.Text);
            Assert.That(scrape.Value("pingora_generation"), Is.EqualTo(2), scrape.Text);
        }
    }
}
