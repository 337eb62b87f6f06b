using System.Diagnostics;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Proxy;

namespace Pingora.Proxy.Drain;

/// <summary>
/// Ends serving without failing a request that can finish in time, for SIGTERM and after a handoff alike:
/// stop accepting, let just-accepted connections begin their first request, then Kestrel's graceful stop, all within
/// one deadline. Returns as soon as the last connection is gone.
/// </summary>
public sealed class Drainer(ListenerRegistry registry, ConnectionTracker tracker, ProxyHost host, PhaseLog phases)
{
    public async Task DrainAsync(string reason, TimeSpan deadline, TimeSpan firstRequestTimeout)
    {
        var clock = Stopwatch.StartNew();
        using var cut = new CancellationTokenSource(deadline);

        // Our descriptors close here. Alone, that refuses new connections at once; after a handoff the successor
        // still holds the same sockets, so the kernel keeps queueing for it.
        await registry.CloseAllAsync();
        phases.Enter(Phase.StopAccepting, "({Reason}) on {Listeners} listeners; {Connections} connections open",
            reason, registry.Listeners.Count, tracker.Active);

        // A connection accepted a moment ago whose request Kestrel has not read yet would be closed as idle by the
        // graceful stop. Give such connections until their first request begins (bounded).
        var settle = TimeSpan.FromTicks(Math.Min(firstRequestTimeout.Ticks, deadline.Ticks));
        await Task.WhenAny(tracker.WhenNoneAwaitingFirstRequest(), Task.Delay(settle));

        phases.Enter(Phase.Drain, "{Connections} connections open, {Fresh} without a request yet; deadline {Deadline:0.###} s",
            tracker.Active, tracker.AwaitingFirstRequest, deadline.TotalSeconds);
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
