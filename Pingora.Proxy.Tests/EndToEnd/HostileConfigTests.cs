using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Configuration;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The hostile corpus (<see cref="HostileCorpus"/>) against the published binary: <c>pingora -t</c> exits 1 (0 for
/// the one valid flood) with a located reason and no stack trace, in bounded time and memory; and a serving daemon
/// given each file on SIGHUP rejects it, keeps its routes and keeps serving.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed partial class HostileConfigTests : PingoraTestBase
{
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(5);
    private const double MemoryBudgetMb = 400;
    private static readonly Regex ReloadDone = PingoraProcess.PhasePattern("reload");

    private static IEnumerable<HostileCase> Cases() => HostileCorpus.All();

    [TestCaseSource(nameof(Cases))]
    public async Task Pingora_t_refuses_a_hostile_file_with_a_located_reason(HostileCase hostile)
    {
        var path = Path.Combine(TempDir, hostile.Name + ".yaml");
        hostile.Create(path, HostileCorpus.Listener);

        var peakReport = Path.Combine(TempDir, hostile.Name + ".peak");
        var clock = Stopwatch.StartNew();
        var process = StartProcess(PeakMemory.TimeProgram, PeakMemory.UnderTime(peakReport, RepoPaths.RequireBinary(), "-t", "-c", path));
        var run = (ExitCode: await process.WaitForExitAsync(Timeouts.Startup), process.Stdout, process.Stderr);
        clock.Stop();
        var peak = PeakMemory.ReadTimeReportMb(peakReport);
        await TestContext.Out.WriteLineAsync($"{hostile.Name}: {clock.Elapsed.TotalSeconds:0.00} s; peak {peak:0} MB");

        var report = $"exit {run.ExitCode}\n--- stderr ---\n{string.Join("\n", run.Stderr.Split('\n').Take(20))}";
        var errors = ErrorLine().Matches(run.Stderr).Where(m => m.Groups["file"].Value == path).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(hostile.Expect.Valid ? 0 : 1), report);
            Assert.That(run.Stderr + run.Stdout, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception"), report);
            Assert.That(clock.Elapsed, Is.LessThan(TimeBudget), "bounded time\n" + report);
            Assert.That(peak, Is.LessThan(MemoryBudgetMb), "bounded memory (peak RSS)");
            Assert.That(run.Stderr.Split('\n').Count(l => l.StartsWith("pingora: warning: ")), Is.LessThanOrEqualTo(51), "capped warnings");
            if (!hostile.Expect.Valid)
            {
                Assert.That(errors.Any(m => hostile.Expect.Matches(int.Parse(m.Groups["line"].Value), int.Parse(m.Groups["col"].Value),
                    m.Groups["key"].Value, m.Groups["message"].Value)), Is.True, $"expected {hostile.Expect}\n{report}");
                Assert.That(errors, Has.Count.InRange(1, 51), "capped errors\n" + report);
            }
        }
    }

    [Test]
    public async Task A_serving_daemon_given_each_hostile_file_on_SIGHUP_keeps_serving()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);
        var valid = config.Render();
        var client = NewClient();
        var slowest = TimeSpan.Zero;

        foreach (var hostile in HostileCorpus.All())
        {
            hostile.Create(config.Path, valid);
            var cursor = pingora.LineCount;
            var clock = Stopwatch.StartNew();
            pingora.Signal(Signals.SIGHUP);
            var done = await pingora.WaitForLineAsync(ReloadDone, Timeouts.Phase, cursor);
            clock.Stop();
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;

            Assert.That(done.Text, Does.Contain(hostile.Expect.Valid ? "ok" : "rejected"), $"{hostile.Name}\n{pingora.LastLines()}");
            Assert.That(clock.Elapsed, Is.LessThan(TimeBudget), $"{hostile.Name}: bounded time");
            Assert.That(pingora.HasExited, Is.False, $"{hostile.Name}: the daemon must survive\n{pingora.LastLines()}");
            var echo = await client.GetEchoAsync(listener.Url($"/echo/after/{hostile.Name}"));
            Assert.That(echo.Backend, Is.EqualTo("A"), $"{hostile.Name}: the running routes stay");
        }

        var peak = PeakMemory.OfProcessMb(pingora.Pid);
        await TestContext.Out.WriteLineAsync($"slowest reload {slowest.TotalSeconds:0.00} s; daemon peak RSS {peak:0} MB");
        Assert.That(peak, Is.LessThan(MemoryBudgetMb), "bounded memory (the daemon's peak RSS)");

        // Not wedged: the valid file reloads again.
        HostileCorpus.Clear(config.Path);
        config.Write();
        var last = pingora.LineCount;
        pingora.Signal(Signals.SIGHUP);
        await pingora.WaitForLineAsync(PingoraProcess.PhasePattern("reload", "ok"), Timeouts.Phase, last);
        Assert.That((await client.GetEchoAsync(listener.Url("/echo/final"))).Backend, Is.EqualTo("A"));
    }

    [GeneratedRegex(@"^pingora: error: (?<file>.+?):(?<line>\d+):(?<col>\d+): (?<key>\S+): (?<message>.*)$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();
}
