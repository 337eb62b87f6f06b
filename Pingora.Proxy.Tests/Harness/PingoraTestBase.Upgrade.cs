using System.Net.Sockets;
using System.Net;
using System.Diagnostics;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>Who goes first in a graceful upgrade; the contract allows both.</summary>
public enum UpgradeOrder
{
    /// <summary>SIGQUIT to the running process, then <c>pingora -u</c>: the predecessor must wait for the successor.</summary>
    SignalFirst,

    /// <summary><c>pingora -u</c> first (awaited until it listens on upgrade_sock), then SIGQUIT.</summary>
    SuccessorFirst,
}

public abstract partial class PingoraTestBase
{
    /// <summary>Starts a successor with <c>-u -c FILE</c> and sends SIGQUIT to the predecessor, in the given order.
    /// Returns as soon as both happened; the handoff itself is awaited with <see cref="AwaitHandoffAsync"/>.</summary>
    protected async Task<PingoraProcess> StartUpgradeAsync(PingoraProcess predecessor, TestConfig config, UpgradeOrder order,
        IReadOnlyDictionary<string, string>? successorEnv = null)
    {
        PingoraProcess successor;
        if (order == UpgradeOrder.SuccessorFirst)
        {
            successor = StartPingora(config, successorEnv, "-u");
            await successor.WaitForPhaseAsync("upgrade-wait", Timeouts.Startup);
            predecessor.Signal(Signals.SIGQUIT);
        }
        else
        {
            predecessor.Signal(Signals.SIGQUIT);
            successor = StartPingora(config, successorEnv, "-u");
        }
        return successor;
    }

    /// <summary>Awaits a successful handoff on both sides and checks each side's phases came in order.</summary>
    /// <param name="predecessorFromLine">The predecessor's line count before this attempt's SIGQUIT: lines of an
    /// earlier, failed attempt must not count for or against this one.</param>
    protected async Task AwaitHandoffAsync(PingoraProcess predecessor, PingoraProcess successor, TestConfig config,
        int predecessorFromLine = 0)
    {
        await successor.WaitForPhaseAsync("upgrade-received", Timeouts.Startup + Timeouts.AfterConfigured(config.UpgradeConnectTimeoutSeconds));
        await successor.WaitForPhaseAsync("serving", Timeouts.Phase);
        await predecessor.WaitForPhaseAsync("handoff-acknowledged", Timeouts.AfterConfigured(config.UpgradeAckTimeoutSeconds), predecessorFromLine);
        await successor.WaitForPhaseAsync("upgrade-committed", Timeouts.Phase);
        AssertPhaseOrder(successor, "upgrade-wait", "upgrade-received", "serving", "upgrade-committed");
        AssertPhaseOrder(predecessor, "serving");
        AssertPhaseOrder(predecessor, predecessorFromLine, "handoff-connected", "handoff-sent", "handoff-acknowledged");
        Assert.That(predecessor.FindPhase("handoff-failed", predecessorFromLine), Is.Null,
            () => $"the handoff failed\n{Diagnostics(predecessor, successor)}");
    }

    /// <summary>A complete upgrade: successor serving and committed, predecessor acknowledged. The predecessor is
    /// still draining when this returns; see <see cref="AwaitPredecessorExitAsync"/>.</summary>
    protected async Task<PingoraProcess> UpgradeAsync(PingoraProcess predecessor, TestConfig config, UpgradeOrder order)
    {
        var from = predecessor.LineCount;
        var successor = await StartUpgradeAsync(predecessor, config, order);
        await AwaitHandoffAsync(predecessor, successor, config, from);
        return successor;
    }

    /// <summary>Awaits a process's stop (SIGSTOP, or PINGORA_TEST_STOP_AT at <paramref name="where"/>) by a bounded
    /// poll of /proc/PID/stat: a stop is not announced on any channel a test can await.</summary>
    protected static async Task WaitUntilStoppedAsync(PingoraProcess process, string where, params PingoraProcess[] others)
    {
        var clock = Stopwatch.StartNew();
        while (Signals.ProcessState(process.Pid) != 'T')
        {
            if (process.HasExited || clock.Elapsed > Timeouts.Startup)
            {
                Assert.Fail($"{process.Name} did not stop at {where} within {Timeouts.Startup.TotalSeconds}s; " +
                            $"state {Signals.ProcessState(process.Pid)?.ToString() ?? "gone"}\n" + Diagnostics([process, .. others]));
            }
            await Task.Delay(TimeSpan.FromMilliseconds(10));
        }
    }

    /// <summary>Awaits the predecessor's end after a handoff: it stops accepting after close_timeout_seconds, drains
    /// within grace_period_seconds and exits 0, logging each phase in order.</summary>
    protected async Task AwaitPredecessorExitAsync(PingoraProcess predecessor, TestConfig config)
    {
        await predecessor.WaitForPhaseAsync("stop-accepting", Timeouts.AfterConfigured(config.CloseTimeoutSeconds));
        var code = await predecessor.WaitForExitAsync(Timeouts.AfterConfigured(config.GracePeriodSeconds));
        Assert.That(code, Is.Zero, () => $"the predecessor's exit code\n{predecessor.LastLines()}");
        var acknowledged = predecessor.FindPhase("handoff-acknowledged");
        Assert.That(acknowledged, Is.Not.Null, () => $"{predecessor.Name} exited after an upgrade it never saw acknowledged\n{predecessor.LastLines()}");
        AssertPhaseOrder(predecessor, acknowledged!.Index, "handoff-acknowledged", "stop-accepting", "drain", "drained", "exit");
        AssertExitLogged(predecessor, 0);
    }
}

/// <summary>An upgrade held in the predecessor's drain (<see cref="PingoraTestBase.UpgradeHeldInDrainAsync"/>).</summary>
public sealed record HeldDrain(RunningProxy Proxy, PingoraProcess Successor, TcpClient Idle, Task<byte[]> Slow) : IDisposable
{
    public void Dispose() => Idle.Dispose();
}

/// <summary>A running proxy as most upgrade tests need it: backend A behind /echo and /slow, /bytes routes.</summary>
public sealed record RunningProxy(TestConfig Config, ListenerSpec Listener, ListenerSpec? TlsListener, TestBackend Backend, PingoraProcess Pingora);

public abstract partial class PingoraTestBase
{
    /// <summary>Starts backend A and a daemon with a plain listener (and a TLS one if asked) routing everything to A;
    /// <paramref name="adjust"/> tunes the config (timeouts) before it is written.</summary>
    protected async Task<RunningProxy> StartProxyAsync(Action<TestConfig>? adjust = null, bool withTls = false,
        IReadOnlyDictionary<string, string>? env = null)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        var tls = withTls ? config.AddListener(CreateCertificate()) : null;
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        adjust?.Invoke(config);
        var pingora = await StartServingAsync(config, env);
        return new RunningProxy(config, listener, tls, backend, pingora);
    }

    /// <summary>
    /// An upgrade whose predecessor is held in its drain: an idle connection keeps it settling, a slow response
    /// (<paramref name="slowMs"/>, <paramref name="slowBytes"/>) keeps Kestrel's stop waiting. Returns once the
    /// predecessor has entered <paramref name="phase"/> (stop-accepting or drain); the caller disposes the idle connection.
    /// </summary>
    protected async Task<HeldDrain> UpgradeHeldInDrainAsync(string phase, double drainIdleTimeout, int slowMs, int slowBytes)
    {
        var proxy = await StartProxyAsync(c =>
        {
            c.CloseTimeoutSeconds = 0.5;
            c.DrainIdleTimeoutSeconds = drainIdleTimeout;
        });
        var idle = new TcpClient();
        await idle.ConnectAsync(IPAddress.Loopback, proxy.Listener.Port);
        var slow = NewClient().GetByteArrayAsync(proxy.Listener.Url($"/slow?ms={slowMs}&bytes={slowBytes}"));
        await proxy.Backend.WaitForInFlightAsync(1, Timeouts.Request);

        var successor = await UpgradeAsync(proxy.Pingora, proxy.Config, UpgradeOrder.SuccessorFirst);
        await proxy.Pingora.WaitForPhaseAsync(phase, Timeouts.AfterConfigured(proxy.Config.CloseTimeoutSeconds + drainIdleTimeout));
        return new HeldDrain(proxy, successor, idle, slow);
    }

    /// <summary>Awaits a process stopping itself at a PINGORA_TEST_STOP_AT point. A bounded poll of /proc/PID/stat: a
    /// stop is not announced on any channel a test can await.</summary>
    protected static async Task WaitUntilStoppedAsync(PingoraProcess process, PingoraProcess predecessor)
    {
        var clock = Stopwatch.StartNew();
        while (Signals.ProcessState(process.Pid) != 'T')
        {
            if (process.HasExited || clock.Elapsed > Timeouts.Startup)
            {
                Assert.Fail($"{process.Name} did not stop itself at its PINGORA_TEST_STOP_AT point within " +
                            $"{Timeouts.Startup.TotalSeconds}s; state {Signals.ProcessState(process.Pid)?.ToString() ?? "gone"}\n" +
                            Diagnostics(process, predecessor));
            }
            await Task.Delay(TimeSpan.FromMilliseconds(10));
        }
    }
}
