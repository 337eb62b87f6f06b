using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Requests in flight on the predecessor outlive its close_timeout: they complete with their full bodies
/// after it stopped accepting, and only then does it exit.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeInFlightTests : PingoraTestBase
{
    [Test]
    public async Task Slow_requests_started_on_the_predecessor_complete_after_it_stopped_accepting()
    {
        const int requests = 4;
        const int slowMs = 5000;
        const int slowBytes = 400_000;
        var proxy = await StartProxyAsync(c =>
        {
            c.CloseTimeoutSeconds = 0.5;
            c.GracePeriodSeconds = 30;
        });
        var predecessor = proxy.Pingora;

        // The successor waits first, so the handoff starts the moment SIGQUIT arrives and the slow requests'
        // remaining time is certain to exceed close_timeout_seconds.
        var successor = StartPingora(proxy.Config, null, "-u");
        await successor.WaitForPhaseAsync("upgrade-wait", Timeouts.Startup);

        var client = NewClient(timeout: TimeSpan.FromSeconds(90));
        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            client.GetAsync(proxy.Listener.Url($"/slow?ms={slowMs}&bytes={slowBytes}&i={i}"), HttpCompletionOption.ResponseHeadersRead)));
        await proxy.Backend.WaitForInFlightAsync(requests, Timeouts.Phase);
        Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        var bodies = responses.Select((r, i) => HttpClients.ReadBodyAsync(r, Timeouts.AfterConfigured(proxy.Config.GracePeriodSeconds), $"slow request {i}")).ToArray();

        predecessor.Signal(Signals.SIGQUIT);
        await AwaitHandoffAsync(predecessor, successor, proxy.Config);
        var stopAccepting = await predecessor.WaitForPhaseAsync("stop-accepting", Timeouts.AfterConfigured(proxy.Config.CloseTimeoutSeconds));
        var status = await NewClient().GetStatusAsync(proxy.Listener.Url("/status"));
        Assert.That(status.Pid, Is.EqualTo(successor.Pid), "after stop-accepting, new connections reach the successor");

        var completed = await Task.WhenAll(bodies);
        for (var i = 0; i < requests; i++)
        {
            HttpClients.AssertPatternBody(completed[i].Body, slowBytes, $"slow request {i}");
            Assert.That(completed[i].CompletedAt, Is.GreaterThan(stopAccepting.SeenAt),
                $"slow request {i} finished before the predecessor stopped accepting, so it did not test the drain\n{predecessor.LastLines()}");
        }
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        foreach (var response in responses) response.Dispose();
    }
}
