using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The short soak: consecutive upgrades alternating both orders under continuous mixed load (keep-alive and
/// new-connection-per-request workers) with an 8 MB download in flight through every handoff. Zero client errors,
/// every body byte-exact, open fds and RSS flat from the first generation to the last, nothing left running.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeSoakTests : PingoraTestBase
{
    private const int Upgrades = 10;
    private const int DownloadBytes = 8 * 1024 * 1024;
    private const int AnswersPerGeneration = 30;

    [Test]
    public async Task Ten_upgrades_in_both_orders_under_load_lose_nothing_and_leak_nothing()
    {
        var proxy = await StartProxyAsync(c => c.CloseTimeoutSeconds = 0.5);
        var current = proxy.Pingora;
        var load = StartMixedLoad(proxy.Listener);
        using var client = NewClient(timeout: TimeSpan.FromSeconds(60));
        await WaitForLoadAsync(load, s => s.AnsweredBy(current.Pid) >= AnswersPerGeneration, "answers from the first generation", current);
        var first = Usage.Of(current.Pid);
        Usage? second = null; // the first successor: the same role as the last (it holds its upgrade connection)
        var downloads = 0;

        for (var i = 0; i < Upgrades; i++)
        {
            var download = client.GetByteArrayAsync(proxy.Listener.Url($"/bytes?n={DownloadBytes}"));
            var order = i % 2 == 0 ? UpgradeOrder.SuccessorFirst : UpgradeOrder.SignalFirst;
            var next = await UpgradeAsync(current, proxy.Config, order);
            await AwaitPredecessorExitAsync(current, proxy.Config);
            var body = await download.WaitAsync(Timeouts.Request);
            Assert.That(body.Length, Is.EqualTo(DownloadBytes), $"download through upgrade {i + 1}");
            Assert.That(BytePattern.FirstMismatch(body, 0), Is.EqualTo(-1), $"download through upgrade {i + 1}: a wrong byte");
            downloads++;
            await WaitForLoadAsync(load, s => s.AnsweredBy(next.Pid) >= AnswersPerGeneration, $"answers from generation {i + 2}", next);
            AssertPidFileNames(proxy.Config, next, $"after upgrade {i + 1}");
            second ??= Usage.Of(next.Pid);
            current = next;
        }
        var last = Usage.Of(current.Pid);
        var result = await load.StopAsync();
        await TestContext.Out.WriteLineAsync($"{Upgrades} upgrades, {downloads} x 8 MB downloads; first generation {first}, second {second}, last {last}; {result.Summary()}");

        AssertNoFailures(result, current);
        using (Assert.EnterMultipleScope())
        {
            // Listeners, the log, the runtime's own, and the client and backend connections of the moment (a few either
            // way); a leak per handoff would add up over nine generations of successors.
            Assert.That(last.Fds, Is.LessThanOrEqualTo(second!.Fds + 8), $"open fds: second generation {second}, last {last}");
            Assert.That(last.RssKb, Is.LessThan(first.RssKb * 1.5), $"RSS: first {first}, last {last}");
        }
        current.Signal(Signals.SIGTERM);
        Assert.That(await current.WaitForExitAsync(Timeouts.AfterConfigured(proxy.Config.GracefulShutdownTimeoutSeconds)), Is.Zero, current.LastLines());
        AssertNothingRunning("after the soak");
    }

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
