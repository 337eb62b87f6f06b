using System.Diagnostics;
using System.Net.Sockets;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Upgrade;

/// <summary>How a handoff ended, for the serve loop. A committed one comes with the watch of the successor
/// (<see cref="SuccessorWatch"/>), which ends when the successor releases this process or dies.</summary>
public sealed record HandoffOutcome(bool Committed, Task<SuccessorEnd>? Successor = null);

/// <summary>
/// The running process's side of an upgrade, on SIGQUIT: reach the successor on upgrade_sock, check who it is, send
/// every listening socket, and commit only once it reports that it serves. Anything short of that leaves this
/// process serving as before (Pingora, unlike this, closes its listeners even when the transfer failed).
/// </summary>
public static class PredecessorHandoff
{
    // Short: the successor is usually up within a few hundred ms, and each attempt is one cheap local connect().
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(10);

    public static async Task<HandoffOutcome> RunAsync(ServerConf server, ListenerRegistry registry, LifecycleState phases, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var connection = await ConnectAsync(server, cancel);
            if (connection is null)
                return Failed(phases, $"no successor listening on {server.UpgradeSock} within {server.UpgradeConnectTimeoutSeconds:0.###} s (start it with pingora -u)");

            // Closed on every way out but the commit: then the watch of the successor keeps it (closing it earlier
            // is the abort the successor sees).
            var channel = new UpgradeChannel(connection);
            var committed = false;
            try
            {
                var outcome = await HandOverAsync(server, registry, phases, channel, connection, clock, cancel);
                committed = outcome.Committed;
                return outcome;
            }
            finally
            {
                if (!committed) channel.Dispose();
            }
        }
        catch (OperationCanceledException)
        {
            return Failed(phases, "stopped by SIGTERM");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return Failed(phases, e.Message);
        }
    }

    private static async Task<HandoffOutcome> HandOverAsync(ServerConf server, ListenerRegistry registry, LifecycleState phases,
        UpgradeChannel channel, Socket connection, Stopwatch clock, CancellationToken cancel)
    {
        var peer = PeerCredentials.Of(connection);
        if (!peer.IsTrustedBy(PeerCredentials.CurrentUid))
            return Failed(phases, $"refused to hand over listeners to {peer}: only this user or root may take them");
        phases.Enter(Phase.HandoffConnected, "to pid {Pid} on {Path} after {Elapsed} ms", peer.Pid, server.UpgradeSock, clock.ElapsedMilliseconds);
        Libc.StopIfTestAsks("handoff-connected");

        var listeners = registry.Listeners;
        await channel.SendListenersAsync(HandoffHeader.ForCurrentProcess(listeners.Select(l => l.Address)),
            listeners.Select(l => l.Fd).ToArray());
        phases.Enter(Phase.HandoffSent, "{Count} listeners to pid {Pid} after {Elapsed} ms", listeners.Count, peer.Pid, clock.ElapsedMilliseconds);
        Libc.StopIfTestAsks("handoff-sent");

        var reply = await channel.ReceiveReplyAsync(TimeSpan.FromSeconds(server.UpgradeAckTimeoutSeconds), cancel);
        switch (reply)
        {
            case SuccessorReply.Ready:
                await channel.SendCommitAsync(cancel);
                phases.Enter(Phase.HandoffAcknowledged, "pid {Pid} serves; committed after {Elapsed} ms; accepting {Close:0.###} s more, then draining",
                    peer.Pid, clock.ElapsedMilliseconds, server.CloseTimeoutSeconds);
                Libc.StopIfTestAsks("handoff-acknowledged");
                return new HandoffOutcome(true, SuccessorWatch.RunAsync(channel, server, CancellationToken.None));
            case SuccessorReply.Failed failed:
                return Failed(phases, $"the successor could not take over: {failed.Reason}");
            case SuccessorReply.PeerClosed:
                return Failed(phases, "the successor closed the connection before reporting that it serves (it exited or was killed)");
            default:
                return Failed(phases, $"the successor did not report that it serves within {server.UpgradeAckTimeoutSeconds:0.###} s");
        }
    }

    /// <summary>
    /// Retries until the successor listens: SIGQUIT may come before `pingora -u` is started (systemd's ExecReload
    /// sends it first) or after. A stale socket file refuses connections until the successor replaces it.
    /// </summary>
    private static async Task<Socket?> ConnectAsync(ServerConf server, CancellationToken cancel)
    {
        var endpoint = new UnixDomainSocketEndPoint(server.UpgradeSock);
        var deadline = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(server.UpgradeConnectTimeoutSeconds);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(endpoint, cancel);
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            if (deadline.Elapsed >= timeout) return null;
            await Task.Delay(RetryInterval, cancel);
        }
    }

    private static HandoffOutcome Failed(LifecycleState phases, string reason)
    {
        phases.Failed(Phase.HandoffFailed, "{Reason}; still serving, a later SIGQUIT can try again", reason);
        return new HandoffOutcome(false);
    }
}
