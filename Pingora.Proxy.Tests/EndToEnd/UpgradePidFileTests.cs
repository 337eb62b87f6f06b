using System.Collections.Concurrent;
using System.Globalization;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>The pid file always names the live instance (systemd's PIDFile= re-reads it when the main pid exits),
/// and is replaced atomically: a reader never sees it empty or half written.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradePidFileTests : PingoraTestBase
{
    [Test]
    public async Task The_pid_file_names_the_live_instance_after_each_step_and_is_never_torn()
    {
        var proxy = await StartProxyAsync();
        var first = proxy.Pingora;
        AssertPidFileNames(proxy.Config, first, "once serving");

        using var sampler = new PidFileSampler(proxy.Config.PidFile);

        var second = StartPingora(proxy.Config, null, "-u");
        await second.WaitForPhaseAsync("upgrade-wait", Timeouts.Startup);
        AssertPidFileNames(proxy.Config, first, "while the successor only waits");
        first.Signal(Signals.SIGQUIT);
        await AwaitHandoffAsync(first, second, proxy.Config);
        AssertPidFileNames(proxy.Config, second, "once the successor committed");
        await AwaitPredecessorExitAsync(first, proxy.Config);
        AssertPidFileNames(proxy.Config, second, "after the predecessor exited");

        var third = await UpgradeAsync(second, proxy.Config, UpgradeOrder.SignalFirst);
        AssertPidFileNames(proxy.Config, third, "once the second successor committed");
        await AwaitPredecessorExitAsync(second, proxy.Config);
        AssertPidFileNames(proxy.Config, third, "after the second predecessor exited");

        var samples = await sampler.StopAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(samples.Reads, Is.GreaterThan(10), "the sampler must actually have read the file during the upgrades");
            Assert.That(samples.BadReads, Is.Empty, "the pid file was seen missing, empty or not a pid while being replaced");
            Assert.That(samples.Pids, Is.SubsetOf(new[] { first.Pid, second.Pid, third.Pid }), "only the instances' pids ever appear");
        }
    }

    /// <summary>Reads the pid file over and over while the upgrades run. Sampling is the point here: tearing
    /// is a window, not an event.</summary>
    private sealed class PidFileSampler : IDisposable
    {
        private readonly string _path;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly ConcurrentBag<string> _bad = [];
        private readonly ConcurrentDictionary<int, bool> _pids = new();
        private long _reads;

        public PidFileSampler(string path)
        {
            _path = path;
            _loop = Task.Run(LoopAsync);
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                string text;
                try
                {
                    text = await File.ReadAllTextAsync(_path);
                }
                catch (FileNotFoundException)
                {
                    text = "(missing)";
                }
                Interlocked.Increment(ref _reads);
                if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) _pids[pid] = true;
                else _bad.Add($"'{text}'");
                await Task.Delay(1);
            }
        }

        public async Task<(long Reads, IReadOnlyCollection<string> BadReads, IReadOnlyCollection<int> Pids)> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return (Interlocked.Read(ref _reads), _bad.Distinct().ToArray(), _pids.Keys.ToArray());
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }
}
