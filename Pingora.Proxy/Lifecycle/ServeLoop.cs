using Pingora.Proxy.Configuration;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// A serving process from its first signal to its exit code: SIGHUP reloads (off this loop), SIGQUIT hands over
/// and, once committed, drains after close_timeout, but takes everything back (upgrade-reverted) if the successor
/// dies before this process has exited; SIGTERM drains (after a handoff in progress has ended); SIGINT
/// exits at once, during a drain too. What a signal may start is
/// decided by the current <see cref="Phase"/>; the loop only keeps the tasks it awaits.
/// </summary>
public sealed class ServeLoop(ServerConf server, ISignalSource signals, IServeActions actions, LifecycleState lifecycle,
    TimeProvider time)
{
    private readonly ReloadRunner _reloads = new(actions.Reload, lifecycle);

    /// <summary>The reloads started by SIGHUP (their <see cref="ReloadRunner.Idle"/> is for tests).</summary>
    public ReloadRunner Reloads => _reloads;

    private Serilog.ILogger Log => lifecycle.Log;

    public async Task<int> RunAsync()
    {
        using var handoffCancel = new CancellationTokenSource();
        using var drainAbort = new CancellationTokenSource();
        Task<HandoffOutcome>? handoff = null;
        Task? closeTimeout = null;   // completes CLOSE_TIMEOUT after a committed handoff
        Task? drain = null;
        Task<SuccessorEnd>? successor = null; // the committed successor's watch, until it releases or dies
        CancellationTokenSource? revert = null; // ends a handed-over drain when the successor dies
        var stopping = false;        // SIGTERM came: drain once the handoff in progress has ended
        var never = new TaskCompletionSource().Task;
        var nextSignal = signals.Signals.ReadAsync().AsTask();

        // Every signal is read in every phase, a drain included, so that SIGINT always exits at once.
        while (true)
        {
            var done = await Task.WhenAny(nextSignal, handoff ?? never, closeTimeout ?? never, drain ?? never, successor ?? never);
            if (done == drain)
            {
                await drain;
                return Exit(0);
            }
            if (done == closeTimeout)
            {
                closeTimeout = null;
                revert = new CancellationTokenSource();
                drain = actions.DrainAsync("handed over", TimeSpan.FromSeconds(server.GracePeriodSeconds), drainAbort.Token, revert.Token);
                continue;
            }
            if (done == successor)
            {
                var end = await successor;
                successor = null;
                if (end is not SuccessorEnd.Died)
                {
                    Log.Information("the successor's watch ended: {End}", end);
                }
                else if (stopping)
                {
                    Log.Warning("the successor died, but this process was told to stop (SIGTERM): no revert");
                }
                else
                {
                    // Taken back before this process exits: it still holds every listener fd, so no connection was
                    // refused meanwhile, only queued.
                    closeTimeout = null;
                    if (drain is not null)
                    {
                        await revert!.CancelAsync();
                        await drain;
                        drain = null;
                        revert.Dispose();
                    }
                    await actions.RevertAsync("the successor died after the commit (its upgrade connection closed without a release)");
                }
                continue;
            }
            if (done == handoff)
            {
                var outcome = await EndHandoffAsync(handoff);
                handoff = null;
                if (outcome.Committed)
                {
                    successor = outcome.Successor;
                    // This process's own predecessor, if it still drains, must not take back what is handed on.
                    await actions.ReleasePredecessorAsync();
                }
                if (stopping)
                {
                    drain = DrainOnSigterm(drainAbort.Token);
                }
                else if (outcome.Committed)
                {
                    // Both processes accept for CLOSE_TIMEOUT; meanwhile keep-alive clients here are asked to
                    // reconnect, so most of them have moved by the time this process stops accepting.
                    closeTimeout = Task.Delay(TimeSpan.FromSeconds(server.CloseTimeoutSeconds), time);
                    actions.StartHandingOver();
                }
                continue;
            }

            var signal = await nextSignal;
            nextSignal = signals.Signals.ReadAsync().AsTask();
            var phase = lifecycle.Current;
            switch (signal)
            {
                case Signal.Interrupt:
                    Log.Information("SIGINT: exiting at once");
                    await actions.ReleasePredecessorAsync();
                    if (drain is not null)
                    {
                        // Cut what the drain still waits for; Kestrel aborts the connections and returns.
                        await drainAbort.CancelAsync();
                        await drain;
                    }
                    return Exit(0);
                case Signal.Terminate when !stopping:
                    stopping = true;
                    await actions.ReleasePredecessorAsync();
                    // A handoff still running is using the listener fds; let it end before the drain closes them.
                    await handoffCancel.CancelAsync();
                    closeTimeout = null;
                    if (handoff is null) drain = DrainOnSigterm(drainAbort.Token);
                    break;
                case Signal.Reload when !stopping && phase.AcceptsReload():
                    _reloads.Request();
                    break;
                case Signal.Upgrade when !stopping && phase is Phase.Serving:
                    lifecycle.Enter(Phase.HandoffStarted, "SIGQUIT: looking for a successor on {Path} for up to {Timeout:0.###} s",
                        server.UpgradeSock, server.UpgradeConnectTimeoutSeconds);
                    handoff = actions.HandOffAsync(handoffCancel.Token);
                    break;
                case Signal.Reopen:
                    // In every phase: logrotate does not wait for a drain to end. Opening two files is quick.
                    actions.ReopenLogs();
                    break;
                default:
                    Log.Information("{Signal} ignored: {State}", signal, stopping ? "stopping (SIGINT exits at once)"
                        : phase.IsHandoffInProgress() ? "a handoff is in progress" : "already handed over");
                    break;
            }
        }
    }

    private Task DrainOnSigterm(CancellationToken abort) =>
        actions.DrainAsync("SIGTERM", TimeSpan.FromSeconds(server.GracefulShutdownTimeoutSeconds), abort);

    /// <summary>The handoff's outcome; one that throws is a failed handoff too, and this process keeps serving.</summary>
    private async Task<HandoffOutcome> EndHandoffAsync(Task<HandoffOutcome> handoff)
    {
        try
        {
            return await handoff;
        }
        catch (Exception e)
        {
            lifecycle.Failed(Phase.HandoffFailed, "{Reason}; still serving, a later SIGQUIT can try again", $"{e.GetType().Name}: {e.Message}");
            return new HandoffOutcome(false);
        }
    }

    private int Exit(int code)
    {
        actions.Exit(code);
        return code;
    }
}
