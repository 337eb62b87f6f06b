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
        var cut = CancellationTokenSource.CreateLinkedTokenSource(abort);
        cut.CancelAfter(deadline);
        Task? stop = null;
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
            await Task.WhenAny(tracker.WhenSettled(), Task.Delay(settle, cut.Token), reverted);
            if (revert.IsCancellationRequested) return;

            phases.Enter(Phase.Drain, "{Connections} connections open, {Unsettled} of them HTTP/1.x or without a request; deadline {Deadline:0.###} s",
                tracker.Active, tracker.Unsettled, deadline.TotalSeconds);
            stop = host.StopAsync(cut.Token);
            if (await Task.WhenAny(stop, reverted) == reverted) return;
            try
            {
                await stop;
            }
            catch (OperationCanceledException)
            {
                // Kestrel has aborted what was left; reported below.
            }
            phases.Enter(Phase.Drained, "in {Elapsed} ms; {Left} connections cut at the deadline",
                clock.ElapsedMilliseconds, tracker.Active);
        }
        finally
        {
            // A stop left running by a revert keeps its deadline until it ends.
            if (stop is null || stop.IsCompleted) cut.Dispose();
            else _ = stop.ContinueWith(_ => cut.Dispose(), TaskScheduler.Default);
        }
    }
}
