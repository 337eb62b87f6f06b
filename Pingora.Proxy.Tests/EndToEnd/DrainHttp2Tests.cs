using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// HTTP/2 through a drain (RFC 9113 §6.8): GOAWAY at its start, the connection closed with FIN as soon as its last
/// stream is done, and a stream still running at the deadline reset with RST_STREAM (CANCEL), then GOAWAY and FIN.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainHttp2Tests : PingoraTestBase
{
    private const int Cancel = 0x8;

    private async Task<(RunningProxy Proxy, ListenerSpec H2c)> StartAsync(double deadline)
    {
        ListenerSpec? h2c = null;
        var proxy = await StartProxyAsync(c =>
        {
            c.GracefulShutdownTimeoutSeconds = deadline;
            h2c = c.AddListener(protocols: ["http2"]);
        });
        return (proxy, h2c!);
    }

    [Test]
    public async Task An_h2_connection_is_closed_with_fin_right_after_its_last_stream_completes_during_a_drain()
    {
        const double deadline = 30;
        var (proxy, h2c) = await StartAsync(deadline);
        using var client = await RawH2Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, h2c.Port), CancellationToken.None);
        await client.GetAsync(1, "/slow?ms=2500&bytes=10");
        await client.NextAsync(e => e.Type == H2Event.Headers && e.StreamId == 1, "the response headers", Timeouts.Request);

        proxy.Pingora.Signal(Signals.SIGTERM);
        await client.NextAsync(e => e.Type == H2Event.GoAway, "GOAWAY at the start of the drain", Timeouts.Phase);
        var last = await client.NextAsync(e => e.StreamId == 1 && (e.Flags & H2Event.EndStream) != 0, "the end of stream 1", Timeouts.AfterConfigured(3));
        var end = await client.NextAsync(e => e.End is not null, "the end of the connection", Timeouts.AfterConfigured(deadline));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(end.End, Is.EqualTo(TcpEnd.Fin), string.Join("; ", client.Seen));
            Assert.That((end.At - last.At).TotalSeconds, Is.LessThan(0.5), "closed right after its last stream: " + string.Join("; ", client.Seen));
            Assert.That(client.Seen.Any(e => e.Type == H2Event.RstStream), Is.False, string.Join("; ", client.Seen));
        }
        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, proxy.Pingora.LastLines());
    }

    [Test]
    public async Task An_h2_stream_longer_than_the_deadline_gets_rst_stream_cancel_then_goaway_and_fin()
    {
        const double deadline = 4;
        var (proxy, h2c) = await StartAsync(deadline);
        using var client = await RawH2Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, h2c.Port), CancellationToken.None);
        await client.GetAsync(1, "/slow?ms=60000&bytes=100");
        await client.NextAsync(e => e.Type == H2Event.Headers && e.StreamId == 1, "the response headers", Timeouts.Request);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var reset = await client.NextAsync(e => e.Type == H2Event.RstStream || e.End is not null, "RST_STREAM at the deadline", Timeouts.AfterConfigured(deadline));
        Assert.That(reset.Type, Is.EqualTo(H2Event.RstStream), string.Join("; ", client.Seen));
        Assert.That((reset.StreamId, reset.ErrorCode), Is.EqualTo((1, Cancel)), "RST_STREAM (CANCEL) on the running stream");
        var goAway = await client.NextAsync(e => e.Type == H2Event.GoAway || e.End is not null, "GOAWAY after the reset", Timeouts.Phase);
        Assert.That(goAway.Type, Is.EqualTo(H2Event.GoAway), string.Join("; ", client.Seen));
        Assert.That(goAway.LastStreamId, Is.EqualTo(1), "the final GOAWAY names the last stream processed");
        var end = await client.NextAsync(e => e.End is not null, "the end of the connection", Timeouts.Phase);
        Assert.That(end.End, Is.EqualTo(TcpEnd.Fin), string.Join("; ", client.Seen));

        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, proxy.Pingora.LastLines());
        Assert.That(proxy.Pingora.FindPhase("drained")?.Text, Does.Contain("closed at the deadline: 0 HTTP/1.x, 1 HTTP/2, 0 WebSocket, 0 other upgraded;").And.Contain("; 0 connections cut"),
            proxy.Pingora.LastLines());
    }
}
