using System.Globalization;
using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The process is gone right after it logs phase=exit: systemd sees the main process end, and an upgrade is over,
/// only then. Measured from the timestamp the daemon wrote on the line to the moment the process ended (the test
/// reaps its child; a daemon's end is seen through a pidfd, which is readable from the exit on, reaped or not).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ExitTimingTests : PingoraTestBase
{
    private static readonly TimeSpan MaxExitDelay = TimeSpan.FromMilliseconds(100);

    private static DateTimeOffset LoggedAt(CapturedLine line) =>
        DateTimeOffset.ParseExact(line.Text[..29], "yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    [Test]
    public async Task After_a_drain_with_a_websocket_an_h2_stream_and_an_event_stream_the_process_is_gone_within_100_ms_of_phase_exit()
    {
        const double deadline = 4;
        ListenerSpec? h2c = null;
        var proxy = await StartProxyAsync(c =>
        {
            c.GracefulShutdownTimeoutSeconds = deadline;
            h2c = c.AddListener(protocols: ["http2"]);
        });
        using var cts = new CancellationTokenSource(Timeouts.AfterConfigured(deadline));
        using var webSocket = await RawWebSocketClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.Listener.Port), "/ws", cts.Token);
        using var h2 = await RawH2Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, h2c!.Port), cts.Token);
        await h2.GetAsync(1, "/slow?ms=60000&bytes=100");
        await h2.NextAsync(e => e.Type == H2Event.Headers, "the h2 response headers", Timeouts.Request);
        var events = RawHttpClient.GetToCloseAsync(new IPEndPoint(IPAddress.Loopback, proxy.Listener.Port), "/sse", cts.Token);
        await proxy.Backend.WaitForInFlightAsync(3, Timeouts.Request);

        proxy.Pingora.Signal(Signals.SIGTERM);
        var closing = webSocket.AwaitServerCloseAsync(cts.Token);
        var exit = await proxy.Pingora.WaitForPhaseAsync("exit", Timeouts.AfterConfigured(deadline));
        Assert.That(await proxy.Pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero, proxy.Pingora.LastLines());
        var gone = DateTimeOffset.Now;

        Assert.That(gone - LoggedAt(exit), Is.LessThan(MaxExitDelay),
            $"{(gone - LoggedAt(exit)).TotalMilliseconds:0} ms from phase=exit to the process's end (logged {LoggedAt(exit):HH:mm:ss.fff}, gone {gone:HH:mm:ss.fff})\n{proxy.Pingora.LastLines()}");
        // How these ended is other tests' business; here they only must have ended.
        await Task.WhenAll(closing, events).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>
    /// A daemon's parent is whoever adopts orphans (systemd for the unit); when that is slow to reap, the process
    /// lingers as a zombie after its exit (measured 1.7 s under a container's init), which is not pingora's time.
    /// </summary>
    [Test]
    public async Task A_daemon_ends_within_100_ms_of_phase_exit_after_sigterm()
    {
        var (config, _) = await NewDaemonConfigAsync();
        var (_, daemon) = await StartDaemonAsync(config);

        daemon.Signal(Signals.SIGTERM);
        var exit = await daemon.WaitForPhaseAsync("exit", Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));
        await daemon.WaitForGoneAsync(Timeouts.Phase);
        var gone = DateTimeOffset.Now;

        Assert.That(gone - LoggedAt(exit), Is.LessThan(MaxExitDelay),
            $"{(gone - LoggedAt(exit)).TotalMilliseconds:0} ms from phase=exit to the daemon's end\n{daemon.LastLines()}");
    }
}
