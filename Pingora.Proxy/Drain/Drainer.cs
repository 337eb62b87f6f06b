using System.Diagnostics;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Http2Drain;

namespace Pingora.Proxy.Drain;

/// <summary>
/// Ends serving without failing a request that can finish in time, for SIGTERM and after a handoff alike:
/// stop accepting, let connections end on their own (see <see cref="ConnectionTracker"/>), then Kestrel's graceful
/// stop for what is left, all within one deadline. Shortly before the deadline what still runs is ended cleanly for
/// its kind (<see cref="InFlightRequests"/>); only what outlives that too is cut. Returns as soon as the last
/// connection is gone.
/// </summary>
public sealed class Drainer(ListenerRegistry registry, ConnectionTracker tracker, ProxyHost host, LifecycleState phases)
{
    /// <summary>The longest a clean close may take before the deadline: a WebSocket close handshake is one round trip.</summary>
    private static readonly TimeSpan MaxCloseAllowance = TimeSpan.FromSeconds(2);

    /// <param name="webSocketCloseAfter">From the start of the drain, when WebSockets get their close frame if the
    /// deadline's own close is later; null: at the deadline's.</param>
    /// <param name="abort">Cuts the drain short (SIGINT): what is left is aborted at once, as at the deadline.</param>
    /// <param name="revert">Given after a handoff: the listener fds stay open (only accepting stops), and cancelling
    /// it ends the drain at once, leaving the host's stop, if begun, to finish the connections it has (the successor
    /// died and this process serves again). Without it the fds close, and new connections are refused at once.</param>
    public async Task DrainAsync(string reason, TimeSpan deadline, TimeSpan idleTimeout, TimeSpan? webSocketCloseAfter = null,
        CancellationToken abort = default, CancellationToken revert = default)
    {
        var clock = Stopwatch.StartNew();
        tracker.StartDraining();

        // After a handoff the successor holds the same sockets, so the kernel keeps queueing for it either way.
        if (revert.CanBeCanceled) await registry.StopAcceptingAsync();
        else await registry.CloseAllAsync();
        phases.Enter(Phase.StopAccepting, "({Reason}) on {Listeners} listeners; {Connections} connections open",
            reason, registry.Listeners.Count, tracker.Active);
        var reverted = Task.Delay(Timeout.InfiniteTimeSpan, revert);

        // Kestrel's stop would close connections between requests while their clients may be sending one; let busy
        // HTTP/1.x clients close after their next response, and fresh connections send their first request. Not into
        // the clean close before the deadline, though: that needs its time too.
        var settle = TimeSpan.FromTicks(Math.Min(idleTimeout.Ticks, (deadline - CloseAllowance(deadline)).Ticks));
        await Task.WhenAny(tracker.WhenSettled(), Task.Delay(settle, abort), reverted);
        // HTTP/2 clients got a GOAWAY with the highest stream id at the start: the final one (Kestrel's stop) only a
        // round trip later, so that a request already on its way is served rather than lost (RFC 9113 §6.8).
        while (tracker.SinceLastShutdownNotice is { } since && since < Http2DrainWake.NoticeLead && clock.Elapsed < settle &&
               !abort.IsCancellationRequested && !revert.IsCancellationRequested)
        {
            var lead = Http2DrainWake.NoticeLead - since;
            var left = settle - clock.Elapsed;
            await Task.WhenAny(Task.Delay(lead < left ? lead : left, abort), reverted);
        }
        if (revert.IsCancellationRequested) return;

        phases.Enter(Phase.Drain, "{Connections} connections open, {Unsettled} of them HTTP/1.x or without a request; deadline {Deadline:0.###} s",
            tracker.Active, tracker.Unsettled, deadline.TotalSeconds);
        var stopping = StopByDeadlineAsync(clock, deadline, webSocketCloseAfter, abort, revert);
        if (await Task.WhenAny(stopping, reverted) == reverted) return;
        var cut = await stopping;
        var counts = tracker.Counts;
        phases.Enter(Phase.Drained, "in {Elapsed} ms; connections ended on their own: {Ended}; closed at the deadline: {Closed}; " +
            "cut: {CutByKind}; {Cut} connections cut at the deadline",
            clock.ElapsedMilliseconds, DrainCounts.Describe(counts.Ended), DrainCounts.Describe(counts.ClosedAtDeadline),
            DrainCounts.Describe(counts.Cut), cut);
    }

    /// <summary>
    /// Kestrel's graceful stop; then, a little before the deadline, a clean close of what still runs; at the deadline,
    /// Kestrel's abort of what is left. Returns how many connections were still open then (counted before the abort,
    /// since once Kestrel has aborted them none is open).
    /// </summary>
    /// <remarks>After a revert the stop goes on for the old host's connections, but the clean closes are skipped: the
    /// tracker's requests are then the restarted host's too, and those serve on.</remarks>
    private async Task<int> StopByDeadlineAsync(Stopwatch clock, TimeSpan deadline, TimeSpan? webSocketCloseAfter, CancellationToken abort,
        CancellationToken revert)
    {
        using var cut = new CancellationTokenSource();
        var stopping = host.StopAsync(cut.Token);
        var closeAt = deadline - CloseAllowance(deadline);
        if (webSocketCloseAfter is { } early && early < closeAt && !await EndsBeforeAsync(stopping, clock, early, abort) &&
            !revert.IsCancellationRequested)
            await Task.Run(tracker.Requests.CloseWebSockets);
        if (!await EndsBeforeAsync(stopping, clock, closeAt, abort) && !revert.IsCancellationRequested)
            await Task.Run(tracker.Requests.CloseAll);
        var left = 0;
        if (!await EndsBeforeAsync(stopping, clock, deadline, abort))
        {
            left = tracker.Active;
            tracker.Counts.Cutting();
            await cut.CancelAsync();
        }
        try
        {
            await stopping;
        }
        catch (OperationCanceledException)
        {
            // Kestrel has aborted what was left; counted above.
        }
        return left;
    }

    /// <summary>A quarter of the drain, at most <see cref="MaxCloseAllowance"/>: a short drain is mostly for ending on its own.</summary>
    internal static TimeSpan CloseAllowance(TimeSpan deadline) =>
        TimeSpan.FromTicks(Math.Min(MaxCloseAllowance.Ticks, deadline.Ticks / 4));

    /// <summary>
    /// Whether <paramref name="stopping"/> completes before <paramref name="at"/> (on the drain's clock); an abort
    /// makes every later step due at once, so what is left is closed and cut without waiting.
    /// </summary>
    private static async Task<bool> EndsBeforeAsync(Task stopping, Stopwatch clock, TimeSpan at, CancellationToken abort)
    {
        var left = at - clock.Elapsed;
        if (left > TimeSpan.Zero && !abort.IsCancellationRequested) await Task.WhenAny(stopping, Task.Delay(left, abort));
        return stopping.IsCompleted;
    }
}
