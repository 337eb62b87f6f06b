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
    public async Task DrainAsync(string reason, TimeSpan deadline, TimeSpan idleTimeout, CancellationToken abort = default)
    {
        var clock = Stopwatch.StartNew();
        tracker.StartDraining();
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(abort);
        cut.CancelAfter(deadline);

        // Our descriptors close here. Alone, that refuses new connections at once; after a handoff the successor
        // still holds the same sockets, so the kernel keeps queueing for it.
        await registry.CloseAllAsync();
        phases.Enter(Phase.StopAccepting, "({Reason}) on {Listeners} listeners; {Connections} connections open",
            reason, registry.Listeners.Count, tracker.Active);

        // Kestrel's stop would close connections between requests while their clients may be sending one; let busy
        // HTTP/1.x clients close after their next response, and fresh connections send their first request.
        var settle = TimeSpan.FromTicks(Math.Min(idleTimeout.Ticks, deadline.Ticks));
        await Task.WhenAny(tracker.WhenSettled(), Task.Delay(settle, cut.Token));

        phases.Enter(Phase.Drain, "{Connections} connections open, {Unsettled} of them HTTP/1.x or without a request; deadline {Deadline:0.###} s",
            tracker.Active, tracker.Unsettled, deadline.TotalSeconds);
        try
        {
            await host.StopAsync(cut.Token);
        }
        catch (OperationCanceledException)
        {
            // Kestrel has aborted what was left; reported below.
        }
        phases.Enter(Phase.Drained, "in {Elapsed} ms; {Left} connections cut at the deadline",
            clock.ElapsedMilliseconds, tracker.Active);
    }
}
