using System.Diagnostics;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Hosting;

namespace Pingora.Proxy.Drain;

/// <summary>
/// Ends serving without failing a request that can finish in time, for SIGTERM and after a handoff alike:
/// stop accepting, let connections end on their own (see <see cref="ConnectionTracker"/>), then Kestrel's graceful
/// stop for what is left, all within one deadline. Returns as soon as the last connection is gone.
/// </summary>
public sealed class Drainer(ListenerRegistry registry, ConnectionTracker tracker, ProxyHost host, LifecycleState phases)
{
    /// <param name="abort">Cuts the drain short (SIGINT): what is left is aborted at once, as at the deadline.</param>
    /// <param name="revert">Given after a handoff: the listener fds stay open (only accepting stops), and cancelling
    /// it ends the drain at once, leaving the host's stop, if begun, to finish the connections it has (the successor
    /// died and this process serves again). Without it the fds close, and new connections are refused at once.</param>
    public async Task DrainAsync(string reason, TimeSpan deadline, TimeSpan idleTimeout, CancellationToken abort = default,
        CancellationToken revert = default)
    {
        var clock = Stopwatch.StartNew();
        tracker.StartDraining();
        var due = CancellationTokenSource.CreateLinkedTokenSource(abort);
        due.CancelAfter(deadline);
        Task<int>? stopping = null;
        try
        {
            // After a handoff the successor holds the same sockets, so the kernel keeps queueing for it either way.
            if (revert.CanBeCanceled) await registry.StopAcceptingAsync();
            else await registry.CloseAllAsync();
            phases.Enter(Phase.StopAccepting, "({Reason}) on {Listeners} listeners; {Connections} connections open",
                reason, registry.Listeners.Count, tracker.Active);
            var reverted = Task.Delay(Timeout.InfiniteTimeSpan, revert);

            // Kestrel's stop would close connections between requests while their clients may be sending one; let busy
            // HTTP/1.x clients close after their next response, and fresh connections send their first request.
            var settle = TimeSpan.FromTicks(Math.Min(idleTimeout.Ticks, deadline.Ticks));
            await Task.WhenAny(tracker.WhenSettled(), Task.Delay(settle, due.Token), reverted);
            if (revert.IsCancellationRequested) return;

            phases.Enter(Phase.Drain, "{Connections} connections open, {Unsettled} of them HTTP/1.x or without a request; deadline {Deadline:0.###} s",
                tracker.Active, tracker.Unsettled, deadline.TotalSeconds);
            stopping = StopByDeadlineAsync(due.Token);
            if (await Task.WhenAny(stopping, reverted) == reverted) return;
            var cut = await stopping;
            phases.Enter(Phase.Drained, "in {Elapsed} ms; {Cut} connections cut at the deadline",
                clock.ElapsedMilliseconds, cut);
        }
        finally
        {
            // A stop left running by a revert keeps its deadline until it ends.
            if (stopping is null || stopping.IsCompleted) due.Dispose();
            else _ = stopping.ContinueWith(_ => due.Dispose(), TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Kestrel's graceful stop, aborted when <paramref name="due"/> fires (the deadline, or SIGINT). Returns how many
    /// connections were still open then (HTTP/1.x, HTTP/2 and upgraded ones alike): counted before the abort, since
    /// once Kestrel has aborted them none is open.
    /// </summary>
    private async Task<int> StopByDeadlineAsync(CancellationToken due)
    {
        using var abort = new CancellationTokenSource();
        var stopping = host.StopAsync(abort.Token);
        await Task.WhenAny(stopping, Task.Delay(Timeout.Infinite, due));
        var cut = 0;
        if (!stopping.IsCompleted)
        {
            cut = tracker.Active;
            await abort.CancelAsync();
        }
        try
        {
            await stopping;
        }
        catch (OperationCanceledException)
        {
            // Kestrel has aborted what was left; counted above.
        }
        return cut;
    }
}
