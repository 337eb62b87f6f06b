using NUnit.Framework;
using Pingora.Proxy.Metrics;
using Pingora.Proxy.Tests.Harness;
using Prometheus;
using Yarp.ReverseProxy.Forwarder;

namespace Pingora.Proxy.Tests.Metrics;

[TestFixture]
public sealed class RequestSeriesTests
{
    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }

    [Test]
    public async Task A_series_is_looked_up_once_and_counts_under_its_labels()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var series = new ProxyMetrics(registry).Series;

        var first = series.Requests("r1", "c1", "GET", 200);
        first.Inc();
        series.Requests("r1", "c1", new string("GET".AsSpan()), 200).Inc(); // an equal string, not the same instance
        series.Duration("r1").Observe(0.002);
        series.Upstream("c1", "d1").Observe(0.001);
        series.Failures("c1", ForwarderError.Request).Inc();

        var scrape = await ScrapeAsync(registry);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(series.Requests("r1", "c1", "GET", 200), Is.SameAs(first), "kept, not looked up again");
            Assert.That(scrape, Does.Contain("pingora_requests_total{route=\"r1\",cluster=\"c1\",method=\"GET\",code=\"200\"} 2"));
            Assert.That(scrape, Does.Contain("pingora_request_duration_seconds_count{route=\"r1\"} 1"));
            Assert.That(scrape, Does.Contain("pingora_upstream_duration_seconds_count{cluster=\"c1\",destination=\"d1\"} 1"));
            Assert.That(scrape, Does.Contain("pingora_upstream_failures_total{cluster=\"c1\",kind=\"Request\"} 1"));
        }
    }

    [Test]
    public async Task Methods_outside_the_standard_ones_share_one_series()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var series = new ProxyMetrics(registry).Series;

        for (var i = 0; i < 100; i++) series.Requests("r1", "c1", $"INVENTED{i}", 404).Inc();
        series.Requests("r1", "c1", "PATCH", 404).Inc();

        var scrape = await ScrapeAsync(registry);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(scrape, Does.Contain("method=\"_OTHER\",code=\"404\"} 100"));
            Assert.That(scrape, Does.Contain("method=\"PATCH\",code=\"404\"} 1"));
            Assert.That(scrape, Does.Not.Contain("INVENTED"));
        }
    }
}
