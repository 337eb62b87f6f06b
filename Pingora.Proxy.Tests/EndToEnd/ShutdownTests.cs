using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>SIGTERM drains in-flight requests and exits 0 as soon as they are done; SIGINT exits at once.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ShutdownTests : PingoraTestBase
{
    private async Task<(PingoraProcess Pingora, ListenerSpec Listener, TestConfig Config)> StartAsync(double gracefulShutdownSeconds)
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig();
        config.GracefulShutdownTimeoutSeconds = gracefulShutdownSeconds;
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", a);
        var pingora = await StartServingAsync(config);
        return (pingora, listener, config);
    }

    private static async Task AssertRefusedAsync(ListenerSpec listener, string when)
    {
        using var probe = new TcpClient(AddressFamily.InterNetwork);
        var refused = await Assert.ThrowsAsync<SocketException>(async () =>
            await probe.ConnectAsync(IPAddress.Loopback, listener.Port).WaitAsync(Timeouts.Request));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused), $"a new connection {when}");
    }

    [Test]
    public async Task Sigterm_lets_an_in_flight_request_finish_then_exits_0_without_waiting_for_the_timeout()
    {
        const int slowMs = 2000;
        const int slowBytes = 300_000;
        const double graceful = 20;
        var (pingora, listener, _) = await StartAsync(graceful);
        var client = NewClient(timeout: TimeSpan.FromSeconds(60));

        using var response = await client.GetAsync(listener.Url($"/slow?ms={slowMs}&bytes={slowBytes}"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = HttpClients.ReadBodyAsync(response, Timeouts.AfterConfigured(graceful), "the in-flight /slow response");

        var signalledAt = DateTimeOffset.UtcNow;
        pingora.Signal(Signals.SIGTERM);
        var drain = await pingora.WaitForPhaseAsync("drain", Timeouts.Phase);
        var (bytes, completedAt) = await body;
        HttpClients.AssertPatternBody(bytes, slowBytes, "the /slow response in flight at SIGTERM");

        // Well inside graceful_shutdown_timeout_seconds: the process must exit once drained, not at the deadline.
        var code = await pingora.WaitForExitAsync(TimeSpan.FromSeconds(graceful / 2));
        var exitedAt = DateTimeOffset.UtcNow;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, pingora.LastLines());
            Assert.That(drain.SeenAt, Is.LessThan(completedAt),
                "the request must still have been in flight when the drain began, or this test proved nothing");
            Assert.That(exitedAt - completedAt, Is.LessThan(TimeSpan.FromSeconds(4)),
                "exit as soon as the last request is done\n" + pingora.LastLines());
            Assert.That(exitedAt - signalledAt, Is.LessThan(TimeSpan.FromSeconds(graceful)), "exit before the drain deadline");
        }
        AssertPhaseOrder(pingora, "serving", "drain", "exit");
        AssertExitLogged(pingora, 0);
        await AssertRefusedAsync(listener, "after the exit");
    }

    [Test]
    public async Task Sigint_exits_at_once_with_code_0_even_with_a_request_in_flight()
    {
        var (pingora, listener, _) = await StartAsync(gracefulShutdownSeconds: 20);
        var client = NewClient(timeout: TimeSpan.FromSeconds(60));

        using var response = await client.GetAsync(listener.Url("/slow?ms=15000&bytes=100000"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = HttpClients.ReadBodyAsync(response, TimeSpan.FromSeconds(30), "the in-flight /slow response");

        await AssertSigintExitsAtOnceAsync(pingora, body, "SIGINT does not drain",
            "the slow response must have been cut by the exit, not completed or left hanging");
        await AssertRefusedAsync(listener, "after the exit");
    }

    [Test]
    public async Task Sigint_during_a_sigterm_drain_exits_at_once()
    {
        var (pingora, listener, _) = await StartAsync(gracefulShutdownSeconds: 20);
        var client = NewClient(timeout: TimeSpan.FromSeconds(60));

        using var response = await client.GetAsync(listener.Url("/slow?ms=15000&bytes=100000"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = HttpClients.ReadBodyAsync(response, TimeSpan.FromSeconds(30), "the in-flight /slow response");
        pingora.Signal(Signals.SIGTERM);
        await pingora.WaitForPhaseAsync("drain", Timeouts.Phase);

        // The drain would wait about 15 s for the slow response; SIGINT must not.
        await AssertSigintExitsAtOnceAsync(pingora, body, "SIGINT cuts the drain",
            "the slow response must have been cut by the exit, not completed");
        AssertExitLogged(pingora, 0);
    }

    /// <summary>SIGINT: exit 0 within 3 s, and the in-flight <paramref name="body"/> cut rather than completed.</summary>
    private static async Task AssertSigintExitsAtOnceAsync(PingoraProcess pingora, Task body, string promptly, string cut)
    {
        var signalledAt = DateTimeOffset.UtcNow;
        pingora.Signal(Signals.SIGINT);
        var code = await pingora.WaitForExitAsync(TimeSpan.FromSeconds(5));
        var exitedAt = DateTimeOffset.UtcNow;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, pingora.LastLines());
            Assert.That(exitedAt - signalledAt, Is.LessThan(TimeSpan.FromSeconds(3)), promptly);
        }
        Exception? failure = null;
        try { await body; }
        catch (Exception e) { failure = e; }
        Assert.That(failure, Is.InstanceOf<HttpRequestException>().Or.InstanceOf<IOException>(), cut);
    }
}
