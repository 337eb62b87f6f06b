using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The predecessor's hold on the upgrade connection after the commit, for as long as it lives: the connection closes
/// without a Released frame exactly when the successor dies, whatever kills it. Liveness by the connection, not by a
/// heartbeat: a successor that is stopped (SIGSTOP) or hangs still holds it, so it is never mistaken for a dead one
/// and two processes never both think they are the one (a late heartbeat would do exactly that).
/// </summary>
public static class SuccessorWatch
{
    /// <summary>Watches until the successor releases or dies; the connection is closed when the watch ends.</summary>
    public static async Task<SuccessorEnd> RunAsync(UpgradeChannel channel, ServerConf server, CancellationToken cancel)
    {
        // Bounded, like every wait of the handoff: past close_timeout and the grace period this process has exited.
        var bound = TimeSpan.FromSeconds(server.CloseTimeoutSeconds + server.GracePeriodSeconds + server.DrainIdleTimeoutSeconds + 60);
        try
        {
            return await channel.ReceiveReleaseAsync(bound, cancel);
        }
        catch (OperationCanceledException)
        {
            return new SuccessorEnd.Unwatched("this process stopped watching");
        }
        finally
        {
            channel.Dispose();
        }
    }
}
