using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>phase=drained counts the connections still open at the drain deadline, HTTP/2 ones included: those are
/// the ones the deadline cut.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainCutCountTests : PingoraTestBase
{
    [Test]
    public async Task The_drained_line_counts_the_http1_and_http2_connections_cut_at_the_deadline()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        config.GracefulShutdownTimeoutSeconds = 1;
        var http1 = config.AddListener();
        var http2 = config.AddListener(protocols: ["http2"]); // cleartext HTTP/2 with prior knowledge
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);

        var h1Client = NewClient(timeout: TimeSpan.FromSeconds(60));
        var h2Client = NewClient(timeout: TimeSpan.FromSeconds(60));
        h2Client.DefaultRequestVersion = HttpVersion.Version20;
        h2Client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        // Far longer than the deadline: both are in flight when it comes.
        using var h1 = await h1Client.GetAsync(http1.Url("/slow?ms=30000&bytes=100000"), HttpCompletionOption.ResponseHeadersRead);
        using var h2 = await h2Client.GetAsync(http2.Url("/slow?ms=30000&bytes=100000"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(h2.Version, Is.EqualTo(HttpVersion.Version20), "the second request must be HTTP/2, or this test proves nothing about it");
        await backend.WaitForInFlightAsync(2, Timeouts.Phase);

        pingora.Signal(Signals.SIGTERM);
        var drained = await pingora.WaitForPhaseAsync("drained", Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        Assert.That(await pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, pingora.LastLines());
        Assert.That(drained.Text, Does.Contain("; 2 connections cut at the deadline"), pingora.LastLines());
    }
}
