using System.Net;
using System.Text.Json;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// access_log against the published binary: one line per response (proxied, no route, upstream down, pingora's own),
/// in both formats; the request id forwarded upstream; exact line counts through an upgrade and a SIGUSR1 reopen.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class AccessLogTests : PingoraTestBase
{
    private async Task<(TestConfig Config, TestBackend Backend, string DeadUpstream)> ConfigAsync(string? format)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        config.AddListener();
        config.AccessLog = Path.Combine(TempDir, "access.log");
        config.AccessLogFormat = format;
        config.AddRoute("echo", "c1", "/echo/{**rest}");
        config.AddCluster("c1", backend);
        var dead = $"http://127.0.0.1:{FreePort.Next()}/";
        config.AddRoute("down", "c2", "/down/{**rest}");
        config.AddCluster("c2", dead);
        return (config, backend, dead);
    }

    private async Task<(PingoraProcess Pingora, string RequestId, string DeadUpstream)> ServeFourRequestsAsync(string? format)
    {
        var (config, _, dead) = await ConfigAsync(format);
        var pingora = await StartServingAsync(config);
        var listener = config.Listeners[0];
        using var client = NewClient();
        using var proxied = new HttpRequestMessage(HttpMethod.Get, listener.Url("/echo/hello?x=1"));
        proxied.Headers.Referrer = new Uri("https://example.com/from");
        proxied.Headers.UserAgent.ParseAdd("access-test/1.0");
        using (var response = await client.SendAsync(proxied))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var echo = JsonSerializer.Deserialize<EchoResponse>(await response.Content.ReadAsStringAsync())!;
            var id = echo.Header("X-Request-Id");
            Assert.That(id, Does.Match("^[0-9a-f]{32}$"), "a generated request id is forwarded upstream");
            Assert.That((await client.GetAsync(listener.Url("/nothing/here"))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.GetAsync(listener.Url("/down/x"))).StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
            Assert.That((await client.GetAsync(listener.Url("/status"))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return (pingora, id!, dead);
        }
    }

    [Test]
    public async Task Combined_lines_for_a_proxied_200_a_404_a_502_and_the_status_endpoint()
    {
        var (pingora, requestId, dead) = await ServeFourRequestsAsync(format: null);
        var lines = await LogFileFollower.WaitForLinesAsync(Path.Combine(TempDir, "access.log"), 4, pingora);
        Assert.That(lines, Has.Count.EqualTo(4));
        var m = lines.Select(l => CombinedLogLine.Pattern().Match(l)).ToList();
        Assert.That(m.Select(x => x.Success), Is.All.True, string.Join('\n', lines));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(m[0].Groups["target"].Value, Is.EqualTo("/echo/hello?x=1"));
            Assert.That(m[0].Groups["method"].Value, Is.EqualTo("GET"));
            Assert.That(m[0].Groups["protocol"].Value, Is.EqualTo("HTTP/1.1"));
            Assert.That(m[0].Groups["status"].Value, Is.EqualTo("200"));
            Assert.That(long.Parse(m[0].Groups["bytes"].Value), Is.GreaterThan(0));
            Assert.That(m[0].Groups["referer"].Value, Is.EqualTo("https://example.com/from"));
            Assert.That(m[0].Groups["agent"].Value, Is.EqualTo("access-test/1.0"));
            Assert.That(m[0].Groups["upstream"].Value, Does.StartWith("http://127.0.0.1:"));
            Assert.That(m[1].Groups["status"].Value, Is.EqualTo("404"));
            Assert.That(m[1].Groups["upstream"].Value, Is.EqualTo("-"));
            Assert.That(m[1].Groups["referer"].Value, Is.EqualTo("-"));
            Assert.That(m[2].Groups["status"].Value, Is.EqualTo("502"));
            Assert.That(m[2].Groups["upstream"].Value, Is.EqualTo(dead));
            Assert.That(m[3].Groups["target"].Value, Is.EqualTo("/status"));
            Assert.That(m[3].Groups["status"].Value, Is.EqualTo("200"));
            Assert.That(long.Parse(m[3].Groups["bytes"].Value), Is.GreaterThan(0), "pingora's own body is counted");
        }
        Assert.That(requestId, Is.Not.Empty);
    }

    [Test]
    public async Task Json_lines_for_a_proxied_200_a_404_a_502_and_the_status_endpoint()
    {
        var (pingora, requestId, dead) = await ServeFourRequestsAsync("json");
        var lines = await LogFileFollower.WaitForLinesAsync(Path.Combine(TempDir, "access.log"), 4, pingora);
        var json = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        using (Assert.EnterMultipleScope())
        {
            var ok = json[0];
            Assert.That(ok.GetProperty("status").GetInt32(), Is.EqualTo(200));
            Assert.That(ok.GetProperty("path").GetString(), Is.EqualTo("/echo/hello"));
            Assert.That(ok.GetProperty("query").GetString(), Is.EqualTo("x=1"));
            Assert.That(ok.GetProperty("method").GetString(), Is.EqualTo("GET"));
            Assert.That(ok.GetProperty("client_address").GetString(), Is.EqualTo("127.0.0.1"));
            Assert.That(ok.GetProperty("client_port").GetInt32(), Is.GreaterThan(0));
            Assert.That(ok.GetProperty("route").GetString(), Is.EqualTo("echo"));
            Assert.That(ok.GetProperty("cluster").GetString(), Is.EqualTo("c1"));
            Assert.That(ok.GetProperty("upstream_status").GetInt32(), Is.EqualTo(200));
            Assert.That(ok.GetProperty("upstream_time_seconds").GetDouble(), Is.GreaterThan(0).And.LessThanOrEqualTo(ok.GetProperty("duration_seconds").GetDouble()));
            Assert.That(ok.GetProperty("bytes_sent").GetInt64(), Is.GreaterThan(0));
            Assert.That(ok.GetProperty("user_agent").GetString(), Is.EqualTo("access-test/1.0"));
            Assert.That(ok.GetProperty("referer").GetString(), Is.EqualTo("https://example.com/from"));
            Assert.That(ok.GetProperty("request_id").GetString(), Is.EqualTo(requestId), "the id forwarded upstream is the one logged");
            Assert.That(ok.GetProperty("pid").GetInt32(), Is.EqualTo(pingora.Pid));
            Assert.That(ok.GetProperty("tls_protocol").ValueKind, Is.EqualTo(JsonValueKind.Null));

            Assert.That(json[1].GetProperty("status").GetInt32(), Is.EqualTo(404));
            Assert.That(json[1].GetProperty("route").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json[2].GetProperty("status").GetInt32(), Is.EqualTo(502));
            Assert.That(json[2].GetProperty("route").GetString(), Is.EqualTo("down"));
            Assert.That(json[2].GetProperty("destination").GetString(), Is.EqualTo(dead));
            Assert.That(json[2].GetProperty("upstream_status").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json[3].GetProperty("path").GetString(), Is.EqualTo("/status"));
        }
    }

    [Test]
    public async Task The_clients_request_id_is_forwarded_and_logged()
    {
        var (config, _, _) = await ConfigAsync("json");
        var pingora = await StartServingAsync(config);
        using var client = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, config.Listeners[0].Url("/echo/id"));
        request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        using var response = await client.SendAsync(request);
        var echo = JsonSerializer.Deserialize<EchoResponse>(await response.Content.ReadAsStringAsync())!;
        Assert.That(echo.Header("X-Request-Id"), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
        var line = (await LogFileFollower.WaitForLinesAsync(config.AccessLog!, 1, pingora))[0];
        Assert.That(JsonDocument.Parse(line).RootElement.GetProperty("request_id").GetString(), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    [Test]
    public async Task Sigusr1_after_a_rename_reopens_both_logs_and_loses_no_line()
    {
        var (config, _, _) = await ConfigAsync(format: null);
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        var pingora = await StartServingAsync(config);
        using var client = NewClient();
        var url = config.Listeners[0].Url("/echo/r");
        const int before = 20, after = 30;
        for (var i = 0; i < before; i++) (await client.GetAsync(url)).EnsureSuccessStatusCode();
        await LogFileFollower.WaitForLinesAsync(config.AccessLog!, before, pingora);

        File.Move(config.AccessLog!, config.AccessLog + ".1");
        File.Move(config.ErrorLog, config.ErrorLog + ".1");
        var from = pingora.LineCount;
        pingora.Signal(Signals.SIGUSR1);
        await pingora.WaitForLineAsync("SIGUSR1: log files reopened", Timeouts.Phase, from);
        for (var i = 0; i < after; i++) (await client.GetAsync(url)).EnsureSuccessStatusCode();
        var fresh = await LogFileFollower.WaitForLinesAsync(config.AccessLog!, after, pingora);

        Assert.That(Signals.Exists(pingora.Pid), Is.True, "SIGUSR1 does not end the process");
        Assert.That(File.ReadAllLines(config.AccessLog + ".1"), Has.Length.EqualTo(before));
        Assert.That(fresh, Has.Count.EqualTo(after));
        Assert.That(fresh, Has.All.Match(CombinedLogLine.Pattern()));
        Assert.That(File.ReadAllText(config.ErrorLog), Does.Contain("SIGUSR1: log files reopened"), "error_log reopened too");
        Assert.That(File.ReadAllText(config.ErrorLog + ".1"), Does.Contain("phase=serving"));
    }

    [Test]
    public async Task Gathered_lines_are_written_before_a_reopen_and_at_exit_without_waiting_for_the_flush()
    {
        var (config, _, _) = await ConfigAsync(format: null);
        config.AccessLogFlushSeconds = 3600; // only the reopen and the exit can write these lines
        var pingora = await StartServingAsync(config);
        using var client = NewClient();
        var url = config.Listeners[0].Url("/echo/gathered");
        const int before = 20, after = 30;
        for (var i = 0; i < before; i++) (await client.GetAsync(url)).EnsureSuccessStatusCode();
        Assert.That(new FileInfo(config.AccessLog!).Length, Is.Zero, "20 lines are far from filling 64 KiB");

        File.Move(config.AccessLog!, config.AccessLog + ".1");
        var from = pingora.LineCount;
        pingora.Signal(Signals.SIGUSR1);
        await pingora.WaitForLineAsync("SIGUSR1: log files reopened", Timeouts.Phase, from);
        Assert.That(File.ReadAllLines(config.AccessLog + ".1"), Has.Length.EqualTo(before));
        for (var i = 0; i < after; i++) (await client.GetAsync(url)).EnsureSuccessStatusCode();
        pingora.Signal(Signals.SIGTERM);
        Assert.That(await pingora.WaitForExitAsync(Timeouts.Phase), Is.Zero);

        var fresh = File.ReadAllLines(config.AccessLog!);
        Assert.That(fresh, Has.Length.EqualTo(after));
        Assert.That(fresh, Has.All.Match(CombinedLogLine.Pattern()));
    }

    [Test]
    public async Task Through_an_upgrade_under_load_every_response_has_exactly_one_whole_line()
    {
        var proxy = await StartProxyAsync(c => c.AccessLog = Path.Combine(c.Directory, "access.log"));
        var predecessor = proxy.Pingora;
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= 50, "answers from the predecessor", predecessor);
        var successor = await UpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= 50, "answers from the successor", predecessor, successor);
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        var result = await load.StopAsync();
        AssertNoFailures(result, predecessor, successor);

        var lines = await LogFileFollower.WaitForLinesAsync(proxy.Config.AccessLog!, (int)result.Successes, successor);
        Assert.That(lines, Has.Count.EqualTo(result.Successes), result.Summary());
        Assert.That(lines, Has.All.Match(CombinedLogLine.Pattern()), "no line torn or interleaved");
    }
}
