using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The short soak (issue 15): consecutive upgrades alternating both orders under continuous mixed traffic: HTTP/1.1
/// keep-alive and a new connection per request (<see cref="LoadClient"/>), h2c and h2 over TLS, WebSocket sessions
/// exchanging a message every 100 ms, 8 MB downloads to a slow reader, 8 MB uploads, 2 s slow responses and
/// server-sent events (<see cref="SoakTraffic"/>). Zero errors of every kind (an unprocessed HTTP/2 stream re-sent, a
/// WebSocket closed with 1001 and an SSE stream ended at an event boundary, each followed by a reconnect, are not
/// errors), every body byte-exact, open fds and RSS flat from the first generation to the last, one access log line
/// per response, nothing left running.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeSoakTests : PingoraTestBase
{
    private const int Upgrades = 10;
    private const int AnswersPerGeneration = 30;
    private const string SmallBody = "/bytes?n=4096";

    [Test]
    public async Task Ten_upgrades_in_both_orders_under_mixed_traffic_lose_nothing_and_leak_nothing()
    {
        ListenerSpec? h2c = null;
        var accessLog = Path.Combine(TempDir, "access.log");
        // grace 5 s: the drain ends long responses 1.25 s before its deadline, and a 2 s slow response or an 8 MB slow
        // download that starts on the old process just before it stops accepting must still end by itself first.
        var proxy = await StartProxyAsync(c =>
        {
            c.CloseTimeoutSeconds = 0.5;
            c.GracePeriodSeconds = 5;
            c.AccessLog = accessLog;
            h2c = c.AddListener(protocols: ["http2"]);
        }, withTls: true);
        var current = proxy.Pingora;
        var load = StartLoad(new LoadClientOptions
        {
            BaseUri = proxy.Listener.BaseUri,
            Paths = ["/status", SmallBody],
            BodyIsRight = (_, body) => body.Length == 4096 && BytePattern.FirstMismatch(body, 0) < 0,
        });
        await using var traffic = SoakTraffic.Start(new SoakTrafficOptions
        {
            Http1 = new IPEndPoint(IPAddress.Loopback, proxy.Listener.Port),
            H2c = h2c!.BaseUri,
            H2Tls = proxy.TlsListener!.BaseUri,
            PinnedCertificate = proxy.TlsListener.Tls,
        });
        await WaitForLoadAsync(load, s => s.AnsweredBy(current.Pid) >= AnswersPerGeneration, "answers from the first generation", current);
        await traffic.WaitUntilAsync(s => s.Kinds.Values.All(k => k.Completed > 0), "every kind of traffic to complete once", Timeouts.Phase);
        var first = Usage.Of(current.Pid);
        Usage? second = null; // the first successor: the same role as the last (it holds its upgrade connection)

        for (var i = 0; i < Upgrades; i++)
        {
            var order = i % 2 == 0 ? UpgradeOrder.SuccessorFirst : UpgradeOrder.SignalFirst;
            var next = await UpgradeAsync(current, proxy.Config, order);
            await AwaitPredecessorExitAsync(current, proxy.Config);
            await WaitForLoadAsync(load, s => s.AnsweredBy(next.Pid) >= AnswersPerGeneration, $"answers from generation {i + 2}", next);
            AssertPidFileNames(proxy.Config, next, $"after upgrade {i + 1}");
            second ??= Usage.Of(next.Pid);
            current = next;
        }
        var last = Usage.Of(current.Pid);
        var mixed = await traffic.StopAsync();
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"{Upgrades} upgrades; first generation {first}, second {second}, last {last}\n" +
                                             $"{result.Summary()}\n{mixed.Summary()}");

        AssertNoFailures(result, current);
        Assert.That(mixed.FailureCount, Is.Zero, () => mixed.Summary() + "\n" + Diagnostics(current));
        using (Assert.EnterMultipleScope())
        {
            foreach (var (kind, counts) in mixed.Kinds)
                Assert.That(counts.Completed, Is.Positive, $"{SoakKinds.Label(kind)}: nothing completed");
            // Every drain ends the long-lived sessions still open on the old process; each reconnected.
            Assert.That(mixed[SoakKind.WebSocket].Reconnects, Is.GreaterThanOrEqualTo(Upgrades), "WebSocket sessions closed with 1001");
            Assert.That(mixed[SoakKind.ServerSentEvents].Reconnects, Is.GreaterThanOrEqualTo(Upgrades), "SSE streams ended at a drain");
            // Listeners, logs, the runtime's own, and the connections of the moment: each client connection of the
            // traffic (about 14) and its upstream one, a few either way; a leak per handoff adds up over nine successors.
            Assert.That(last.Fds, Is.LessThanOrEqualTo(second!.Fds + 16), $"open fds: second generation {second}, last {last}");
            Assert.That(last.RssKb, Is.LessThan(first.RssKb * 1.5), $"RSS: first {first}, last {last}");
        }

        current.Signal(Signals.SIGTERM);
        Assert.That(await current.WaitForExitAsync(Timeouts.AfterConfigured(proxy.Config.GracefulShutdownTimeoutSeconds)), Is.Zero, current.LastLines());
        AssertNothingRunning("after the soak");
        // Every response the clients saw is one line, from whichever generation answered it; a re-sent unprocessed
        // request got none.
        var responses = result.Successes + result.Failures[FailureKind.NonSuccessStatus] + mixed.Responses;
        Assert.That(File.ReadLines(accessLog).Count(), Is.EqualTo(responses), () =>
            $"access log lines vs responses; the log by protocol, status and path: {LogBreakdown(accessLog)}; the clients: " +
            $"HTTP/1.1 load {result.Successes} ok, {result.Failures[FailureKind.NonSuccessStatus]} non-2xx; " +
            string.Join(", ", mixed.Kinds.Select(k => $"{SoakKinds.Label(k.Key)} {k.Value.Responses}")));
    }

    /// <summary>Which lines a count mismatch is in: the clients count by kind, so the log is broken down the same way.</summary>
    private static string LogBreakdown(string accessLog) =>
        string.Join(", ", File.ReadLines(accessLog)
            .Select(line => CombinedLogLine.Pattern().Match(line))
            .GroupBy(m => m.Success ? $"{m.Groups["protocol"]} {m.Groups["status"]} {m.Groups["target"].Value.Split('?')[0]}" : "unparsed")
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {g.Count()}"));

    private sealed record Usage(int Fds, long RssKb)
    {
        public static Usage Of(int pid)
        {
            var rss = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return new Usage(Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length,
                long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        }

        public override string ToString() => $"{Fds} fds, {RssKb / 1024.0:0.0} MB RSS";
    }
}
