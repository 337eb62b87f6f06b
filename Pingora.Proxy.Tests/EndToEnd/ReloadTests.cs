using System.Text.RegularExpressions;
using Mono.Unix.Native;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>SIGHUP re-reads routes and clusters and applies them without dropping a request; a bad file is rejected
/// and the old routes keep working.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ReloadTests : PingoraTestBase
{
    private static readonly Regex ReloadOk = PingoraProcess.PhasePattern("reload", "ok");
    private static readonly Regex ReloadRejected = PingoraProcess.PhasePattern("reload", "rejected");

    private async Task<(TestBackend A, TestBackend B, TestConfig Config, ListenerSpec Listener, PingoraProcess Pingora)> StartOnAAsync()
    {
        var a = await StartBackendAsync("A");
        var b = await StartBackendAsync("B");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        config.AddCluster("c1", a);
        var pingora = await StartServingAsync(config);
        return (a, b, config, listener, pingora);
    }

    /// <summary>Points route r1 at backend B and sends SIGHUP; returns the line cursor from before the signal.</summary>
    private static int SwitchToB(TestConfig config, TestBackend b, PingoraProcess pingora)
    {
        config.Clusters.Clear();
        config.AddCluster("c1", b);
        config.Write();
        var cursor = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);
        return cursor;
    }

    [Test]
    public async Task Sighup_switches_a_route_to_another_backend_under_load_without_a_failure()
    {
        var (_, b, config, listener, pingora) = await StartOnAAsync();
        var load = StartMixedLoad(listener, "/echo/load", "/status");
        await WaitForLoadAsync(load, s => s.AnsweredBy("A") >= 50, "50 answers from backend A", pingora);

        var cursor = SwitchToB(config, b, pingora);
        await pingora.WaitForLineAsync(ReloadOk, Timeouts.Phase, cursor);
        var client = NewClient();
        for (var i = 0; i < 5; i++)
        {
            Assert.That((await client.GetEchoAsync(listener.Url($"/echo/after-reload/{i}"))).Backend, Is.EqualTo("B"),
                "after phase=reload ok every new request goes to B\n" + pingora.LastLines());
        }
        var beforeStop = load.Snapshot().AnsweredBy("B");
        await WaitForLoadAsync(load, s => s.AnsweredBy("B") >= beforeStop + 50, "50 more answers from backend B", pingora);
        var result = await load.StopAsync();

        AssertNoFailures(result, pingora);
        Assert.That(result.AnsweredBy(pingora.Pid), Is.GreaterThan(0), result.Summary());
        Assert.That(pingora.FindLine(ReloadRejected), Is.Null, pingora.LastLines());
        Assert.That(pingora.HasExited, Is.False, "a reload must not restart the process");
    }

    [TestCase("syntax error")]
    [TestCase("missing cluster")]
    public async Task Sighup_with_a_broken_file_is_rejected_and_the_old_routes_keep_working(string breakage)
    {
        var (a, b, config, listener, pingora) = await StartOnAAsync();
        var load = StartMixedLoad(listener, "/echo/load", "/status");
        await WaitForLoadAsync(load, s => s.AnsweredBy("A") >= 50, "50 answers from backend A", pingora);

        // Broken, and pointing at B: if any of it were applied, B would start answering.
        config.Clusters.Clear();
        config.AddCluster("c1", b);
        if (breakage == "syntax error") config.RawServerValues["log_level"] = "information: verbose";
        else config.Route("r1").ClusterId = "nope";
        config.Write();
        var cursor = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);

        await pingora.WaitForLineAsync(ReloadRejected, Timeouts.Phase, cursor);
        // "Logged with the error": the error names the file, on the rejected line or a line next to it.
        await pingora.WaitForLineAsync(config.Path, Timeouts.Phase, cursor);

        var client = NewClient();
        Assert.That((await client.GetEchoAsync(listener.Url("/echo/after-rejected"))).Backend, Is.EqualTo("A"),
            "the old routes stay in force\n" + pingora.LastLines());
        Assert.That(b.RequestCount, Is.Zero, "no part of the rejected file may be applied");
        Assert.That((await client.GetStatusAsync(listener.Url("/status"))).State, Is.EqualTo("serving"));
        var answeredByA = load.Snapshot().AnsweredBy("A");
        await WaitForLoadAsync(load, s => s.AnsweredBy("A") >= answeredByA + 50, "50 more answers from backend A", pingora);

        // The process is not wedged: fixing the file and reloading again works.
        config.RawServerValues.Remove("log_level");
        config.Route("r1").ClusterId = "c1";
        config.Write();
        cursor = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);
        await pingora.WaitForLineAsync(ReloadOk, Timeouts.Phase, cursor);
        Assert.That((await client.GetEchoAsync(listener.Url("/echo/after-fix"))).Backend, Is.EqualTo("B"), pingora.LastLines());

        var result = await load.StopAsync();
        AssertNoFailures(result, pingora);
        Assert.That(a.RequestCount, Is.GreaterThan(0));
        Assert.That(pingora.HasExited, Is.False);
    }

    [Test]
    public async Task Sighup_applies_routes_and_reports_server_and_listener_changes_as_needing_an_upgrade()
    {
        var (_, b, config, listener, pingora) = await StartOnAAsync();
        config.GracePeriodSeconds += 1;
        var added = config.AddListener();
        var cursor = SwitchToB(config, b, pingora);

        var warning = await pingora.WaitForLineAsync("take effect with an upgrade", Timeouts.Phase, cursor);
        Assert.That(warning.Text, Does.Contain("grace_period_seconds").And.Contain("listeners"), pingora.LastLines());
        await pingora.WaitForLineAsync(ReloadOk, Timeouts.Phase, cursor);
        Assert.That((await NewClient().GetEchoAsync(listener.Url("/echo/after"))).Backend, Is.EqualTo("B"),
            "routes and clusters are applied all the same\n" + pingora.LastLines());
        using var probe = new System.Net.Sockets.TcpClient();
        var refused = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => probe.ConnectAsync("127.0.0.1", added.Port));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(System.Net.Sockets.SocketError.ConnectionRefused),
            "a listener added by a reload is not bound before an upgrade");
    }

    /// <summary>YARP's RouteConfig.Equals leaves MaxRequestBodySize out, so without the daemon's own change detection a
    /// SIGHUP that changes only this key logs reload ok and keeps the old limit.</summary>
    [TestCase(1000L, -1L, TestName = "Sighup_that_only_lifts_a_route_MaxRequestBodySize_applies_it")]
    [TestCase(null, 1000L, TestName = "Sighup_that_only_adds_a_route_MaxRequestBodySize_applies_it")]
    public async Task Sighup_that_only_changes_MaxRequestBodySize_applies_it(long? before, long? after)
    {
        const int bodyBytes = 4000;
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/upload").MaxRequestBodySize = before;
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);
        var client = NewClient();

        var expectedBefore = Expected(before);
        Assert.That(await UploadAsync(client, listener, bodyBytes), Is.EqualTo(expectedBefore),
            $"before the reload (MaxRequestBodySize {before?.ToString() ?? "unset"})\n" + pingora.LastLines());

        config.Route("r1").MaxRequestBodySize = after;
        config.Write();
        var cursor = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);
        await pingora.WaitForLineAsync(ReloadOk, Timeouts.Phase, cursor);

        Assert.That(await UploadAsync(client, listener, bodyBytes), Is.EqualTo(Expected(after)),
            $"after the reload (MaxRequestBodySize {after})\n" + pingora.LastLines());
        Assert.That(pingora.HasExited, Is.False);

        static System.Net.HttpStatusCode Expected(long? limit) =>
            limit is { } l && l != -1 && l < bodyBytes ? System.Net.HttpStatusCode.RequestEntityTooLarge : System.Net.HttpStatusCode.OK;
    }

    private static async Task<System.Net.HttpStatusCode> UploadAsync(HttpClient client, ListenerSpec listener, int bytes)
    {
        using var response = await client.PostAsync(listener.Url("/upload"), new ByteArrayContent(new byte[bytes]));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == System.Net.HttpStatusCode.OK)
            Assert.That(body, Is.EqualTo(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the backend got the whole body");
        return response.StatusCode;
    }

    /// <summary>
    /// The config path turned into a FIFO with no writer: opening it blocks until a writer comes, which is never. A
    /// reload read on the signal loop would hold SIGTERM up forever; a reload that cannot finish must not stop the
    /// drain (a loader that refuses FIFOs passes this test just as well).
    /// </summary>
    [Test]
    public async Task Sigterm_drains_and_exits_promptly_while_a_sighup_reload_is_stuck_on_a_fifo()
    {
        var (_, _, config, listener, pingora) = await StartOnAAsync();
        File.Delete(config.Path);
        Assert.That(Syscall.mkfifo(config.Path, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR), Is.Zero, $"mkfifo {config.Path}");

        var cursor = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);
        Assert.That((await NewClient().GetEchoAsync(listener.Url("/echo/during-reload"))).Backend, Is.EqualTo("A"),
            "the running routes serve while the reload is stuck\n" + pingora.LastLines());
        pingora.Signal(Signals.SIGTERM);

        // Nothing is in flight: the drain takes drain_idle_timeout_seconds at most, far inside this bound.
        var code = await pingora.WaitForExitAsync(Timeouts.Phase);
        Assert.That(code, Is.Zero, pingora.LastLines());
        AssertPhaseOrder(pingora, cursor, "stop-accepting", "drain", "drained", "exit");
        AssertExitLogged(pingora, 0);
    }
}
