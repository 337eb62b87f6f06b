using System.Net;
using System.Net.WebSockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// A WebSocket open through a drain keeps working, and when the drain's time is up it ends as RFC 6455 wants: a close
/// frame 1001 (going away) to the client, a close frame to the upstream, then FIN, never RST.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainWebSocketTests : PingoraTestBase
{
    /// <summary>Must match Drainer.CloseAllowance for deadlines of 8 s and more: the clean close starts 2 s before.</summary>
    private const double CloseAllowance = 2;

    private static IPEndPoint EndPoint(ListenerSpec listener) => new(IPAddress.Loopback, listener.Port);

    /// <summary>Awaits the close on both sides; returns when the client saw it.</summary>
    private static async Task<DateTimeOffset> AssertClosedCleanlyAsync(RawWebSocketClient client, RunningProxy proxy, double within)
    {
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(within));
        var (status, end) = await client.AwaitServerCloseAsync(cts.Token);
        var closedAt = DateTimeOffset.UtcNow;
        var upstream = await proxy.Backend.NextWebSocketCloseAsync(Timeouts.Phase);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable), "the client's close frame: 1001 going away\n" + proxy.Pingora.LastLines());
            Assert.That(end, Is.EqualTo(TcpEnd.Fin), "after the close handshake the client's connection ends with FIN\n" + proxy.Pingora.LastLines());
            Assert.That(upstream.CloseStatus, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable),
                $"the upstream must get a close frame too (error: {upstream.Error})");
        }
        return closedAt;
    }

    [Test]
    public async Task A_websocket_open_at_sigterm_gets_close_1001_and_fin_at_the_deadline_and_is_counted()
    {
        const double deadline = 8;
        var proxy = await StartProxyAsync(c => c.GracefulShutdownTimeoutSeconds = deadline);
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(deadline));
        using var client = await RawWebSocketClient.ConnectAsync(EndPoint(proxy.Listener), "/ws", cts.Token);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var stop = await proxy.Pingora.WaitForPhaseAsync("stop-accepting", Timeouts.Phase);
        await client.EchoAsync("still served while draining", cts.Token);

        var closedAt = await AssertClosedCleanlyAsync(client, proxy, deadline);
        var code = await proxy.Pingora.WaitForExitAsync(Timeouts.Phase);
        var drained = proxy.Pingora.FindPhase("drained");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, proxy.Pingora.LastLines());
            Assert.That((closedAt - stop.SeenAt).TotalSeconds, Is.GreaterThan(deadline - CloseAllowance - 0.5),
                "the WebSocket is closed at the deadline, not at the start of the drain");
            Assert.That((closedAt - stop.SeenAt).TotalSeconds, Is.LessThan(deadline + 1), "closed by the deadline");
            Assert.That(drained?.Text, Does.Contain("closed at the deadline: 0 HTTP/1.x, 0 HTTP/2, 1 WebSocket, 0 other upgraded;").And.Contain("; 0 connections cut"), proxy.Pingora.LastLines());
        }
    }

    [Test]
    public async Task A_websocket_open_across_an_upgrade_stays_on_the_old_process_then_gets_close_1001_and_fin()
    {
        const double grace = 8;
        var proxy = await StartProxyAsync(c => c.GracePeriodSeconds = grace);
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(grace + 30));
        using var client = await RawWebSocketClient.ConnectAsync(EndPoint(proxy.Listener), "/ws", cts.Token);

        var successor = await UpgradeAsync(proxy.Pingora, proxy.Config, UpgradeOrder.SuccessorFirst);
        var stop = await proxy.Pingora.WaitForPhaseAsync("stop-accepting", Timeouts.AfterConfigured(proxy.Config.CloseTimeoutSeconds));
        await client.EchoAsync("still served by the old process", cts.Token);

        var closedAt = await AssertClosedCleanlyAsync(client, proxy, grace);
        await AwaitPredecessorExitAsync(proxy.Pingora, proxy.Config);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((closedAt - stop.SeenAt).TotalSeconds, Is.GreaterThan(grace - CloseAllowance - 0.5), "closed at the deadline");
            Assert.That(proxy.Pingora.FindPhase("drained")?.Text, Does.Contain("closed at the deadline: 0 HTTP/1.x, 0 HTTP/2, 1 WebSocket, 0 other upgraded;").And.Contain("; 0 connections cut"),
                proxy.Pingora.LastLines());
            Assert.That(successor.HasExited, Is.False, successor.LastLines());
        }
        // The client reconnects, to the successor.
        using var again = await RawWebSocketClient.ConnectAsync(EndPoint(proxy.Listener), "/ws", cts.Token);
    }

    [Test]
    public async Task With_websocket_close_after_seconds_the_close_comes_that_long_into_the_drain_and_the_process_exits_then()
    {
        const double deadline = 60;
        const double closeAfter = 0.5;
        var proxy = await StartProxyAsync(c =>
        {
            c.GracefulShutdownTimeoutSeconds = deadline;
            c.WebsocketCloseAfterSeconds = closeAfter;
        });
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(deadline));
        using var client = await RawWebSocketClient.ConnectAsync(EndPoint(proxy.Listener), "/ws", cts.Token);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var stop = await proxy.Pingora.WaitForPhaseAsync("stop-accepting", Timeouts.Phase);
        var closedAt = await AssertClosedCleanlyAsync(client, proxy, closeAfter);
        var code = await proxy.Pingora.WaitForExitAsync(Timeouts.Phase);
        var exitedAt = DateTimeOffset.UtcNow;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, proxy.Pingora.LastLines());
            Assert.That((closedAt - stop.SeenAt).TotalSeconds, Is.InRange(closeAfter - 0.2, closeAfter + 3), "closed after websocket_close_after_seconds");
            Assert.That((exitedAt - closedAt).TotalSeconds, Is.LessThan(3), "the process exits once its last connection is gone, not at the deadline");
        }
    }
}
