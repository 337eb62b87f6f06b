using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>A response longer than the drain (server-sent events) ends cleanly at the deadline: its last chunk, then FIN.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainLongResponseTests : PingoraTestBase
{
    [Test]
    public async Task A_server_sent_event_stream_running_at_the_deadline_ends_with_its_last_chunk_and_fin_and_is_counted()
    {
        const double deadline = 4;
        var proxy = await StartProxyAsync(c => c.GracefulShutdownTimeoutSeconds = deadline);
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(deadline));
        var events = RawHttpClient.GetToCloseAsync(new IPEndPoint(IPAddress.Loopback, proxy.Listener.Port), "/sse", cts.Token);
        await proxy.Backend.WaitForInFlightAsync(1, Timeouts.Request);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var (response, end) = await events;
        var body = response.BodyText;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200));
            Assert.That(body, Does.StartWith("id: 0\n").And.EndWith("\n\n"), "whole events, the stream ended between two of them");
            Assert.That(end, Is.EqualTo(TcpEnd.Fin), proxy.Pingora.LastLines());
        }
        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, proxy.Pingora.LastLines());
        Assert.That(proxy.Pingora.FindPhase("drained")?.Text, Does.Contain("closed at the deadline: 1 HTTP/1.x, 0 HTTP/2, 0 WebSocket, 0 other upgraded;").And.Contain("; 0 connections cut"),
            proxy.Pingora.LastLines());
    }

    /// <summary>Found by the soak: YARP takes the drain's stop for the client's own cancel and answered 400, which
    /// blames a client that did nothing wrong and that it must not retry.</summary>
    [Test]
    public async Task A_request_whose_upstream_has_not_answered_at_the_deadline_gets_503_not_400()
    {
        const double deadline = 3;
        var proxy = await StartProxyAsync(c => c.GracefulShutdownTimeoutSeconds = deadline);
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(deadline));
        var slow = RawHttpClient.GetToCloseAsync(new IPEndPoint(IPAddress.Loopback, proxy.Listener.Port), "/delay?ms=20000", cts.Token);
        await proxy.Backend.WaitForInFlightAsync(1, Timeouts.Request);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var (response, end) = await slow;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(503), proxy.Pingora.LastLines());
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(end, Is.EqualTo(TcpEnd.Fin));
        }
        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, proxy.Pingora.LastLines());
    }
}
