using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>phase=drained counts, by kind, the connections the drain closed cleanly at its deadline (HTTP/1.x and HTTP/2
/// responses still running) and those still open after that, which the deadline cut (a WebSocket client that never
/// answers the close frame).</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainCutCountTests : PingoraTestBase
{
    [Test]
    public async Task The_drained_line_counts_by_kind_the_connections_closed_and_cut_at_the_deadline()
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
        // Opened, and then never read: it does not answer the close frame.
        using var deaf = await RawWebSocketClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, http1.Port), "/ws", CancellationToken.None);
        await backend.WaitForInFlightAsync(3, Timeouts.Phase);

        pingora.Signal(Signals.SIGTERM);
        var drained = await pingora.WaitForPhaseAsync("drained", Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        Assert.That(await pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, pingora.LastLines());
        Assert.That(drained.Text, Does.Contain("closed at the deadline: 1 HTTP/1.x, 1 HTTP/2, 0 WebSocket, 0 other upgraded;")
            .And.Contain("cut: 0 HTTP/1.x, 0 HTTP/2, 1 WebSocket, 0 other upgraded; 1 connections cut at the deadline"), pingora.LastLines());
    }
}
