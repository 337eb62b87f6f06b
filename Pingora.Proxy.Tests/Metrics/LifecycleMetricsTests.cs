using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Metrics;
using Pingora.Proxy.Tests.Harness;
using Pingora.Proxy.Tests.Lifecycle;
using Pingora.Proxy.Upgrade;
using Prometheus;

namespace Pingora.Proxy.Tests.Metrics;

[TestFixture]
public sealed class LifecycleMetricsTests
{
    private static async Task<PrometheusScrape> ScrapeAsync(CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        return PrometheusScrape.Parse(System.Text.Encoding.UTF8.GetString(text.ToArray()));
    }

    [Test]
    public async Task Reloads_upgrades_state_and_generation_follow_the_lifecycle()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        var history = new UpgradeHistory(lifecycle);
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_000));
        _ = new LifecycleMetrics(new ProxyMetrics(registry), lifecycle, history, new ConnectionTracker(), time);
        history.Inherit(new HandoffLineage(1, 0, 0));

        lifecycle.Enter(Phase.Serving);
        time.Advance(TimeSpan.FromSeconds(5));
        lifecycle.Enter(Phase.Reload, "ok");
        time.Advance(TimeSpan.FromSeconds(5));
        lifecycle.Failed(Phase.Reload, "rejected");
        lifecycle.Enter(Phase.UpgradeCommitted);
        lifecycle.Enter(Phase.HandoffStarted);
        lifecycle.Failed(Phase.HandoffFailed, "no successor");
        var scrape = await ScrapeAsync(registry);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(scrape.Value("pingora_config_reloads_total{result=\"ok\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_config_reloads_total{result=\"rejected\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_config_last_reload_success_timestamp_seconds"), Is.EqualTo(1_005), "the last successful one, not the rejected one");
            Assert.That(scrape.Value("pingora_upgrades_total{outcome=\"committed\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_upgrades_total{outcome=\"failed\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_handoff_duration_seconds_count{outcome=\"failed\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_generation"), Is.EqualTo(2));
            Assert.That(scrape.Value("pingora_state{state=\"serving\"}"), Is.EqualTo(1));
            Assert.That(scrape.Value("pingora_state{state=\"draining\"}"), Is.Zero);
        }
    }
}
