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

    /// <param name="lineage">This process's generation and upgrade counts, for the successor to go on from.</param>
    public static async Task<HandoffOutcome> RunAsync(ServerConf server, ListenerRegistry registry, LifecycleState phases,
        HandoffLineage lineage, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var (connection, peer, refused) = await ConnectAsync(server, phases, cancel);
            if (connection is null)
                return Failed(phases, refused is null
                    ? $"no successor listening on {server.UpgradeSock} within {server.UpgradeConnectTimeoutSeconds:0.###} s (start it with pingora -u)"
                    : $"refused to hand over listeners to {refused}: only this user or root may take them; no other successor on {server.UpgradeSock} within {server.UpgradeConnectTimeoutSeconds:0.###} s");
            phases.Enter(Phase.HandoffConnected, "to pid {Pid} on {Path} after {Elapsed} ms", peer.Pid, server.UpgradeSock, clock.ElapsedMilliseconds);
            ProcessSignals.StopIfTestAsks("handoff-connected");

            // Closed on every way out but the commit: then the watch of the successor keeps it (closing it earlier
            // is the abort the successor sees).
            var channel = new UpgradeChannel(connection);
            var committed = false;
            try
            {
                var outcome = await HandOverAsync(server, registry, phases, lineage, channel, peer, clock, cancel);
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
        HandoffLineage lineage, UpgradeChannel channel, PeerCredentials peer, Stopwatch clock, CancellationToken cancel)
    {
        var listeners = registry.Handed;
        await channel.SendListenersAsync(HandoffHeader.ForCurrentProcess(listeners.Select(l => l.Address), lineage),
            listeners.Select(l => l.Fd).ToArray());
        phases.Enter(Phase.HandoffSent, "{Count} listeners to pid {Pid} after {Elapsed} ms", listeners.Count, peer.Pid, clock.ElapsedMilliseconds);
        ProcessSignals.StopIfTestAsks("handoff-sent");

        var reply = await channel.ReceiveReplyAsync(TimeSpan.FromSeconds(server.UpgradeAckTimeoutSeconds), cancel);
        switch (reply)
        {
            case SuccessorReply.Ready:
                ProcessSignals.StopIfTestAsks("ready-received"); // a predecessor killed between the Ready and its Commit
                await channel.SendCommitAsync(cancel);
                phases.Enter(Phase.HandoffAcknowledged, "pid {Pid} serves; committed after {Elapsed} ms; accepting {Close:0.###} s more, then draining",
                    peer.Pid, clock.ElapsedMilliseconds, server.CloseTimeoutSeconds);
                ProcessSignals.StopIfTestAsks("handoff-acknowledged");
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
    /// Retries until a trusted successor listens: SIGQUIT may come before `pingora -u` is started (systemd's ExecReload
    /// sends it first) or after. A stale socket file refuses connections until the successor replaces it, and a
    /// socket bound there by another user (squatting) is refused and retried too, because the real successor
    /// replaces it when it starts. Returns the last refused peer when the time ran out after a refusal.
    /// </summary>
    private static async Task<(Socket? Connection, PeerCredentials Peer, PeerCredentials? Refused)> ConnectAsync(
        ServerConf server, LifecycleState phases, CancellationToken cancel)
    {
        var endpoint = new UnixDomainSocketEndPoint(server.UpgradeSock);
        var deadline = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(server.UpgradeConnectTimeoutSeconds);
        PeerCredentials? refused = null;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(endpoint, cancel);
                var peer = PeerCredentials.Of(socket);
                if (peer.IsTrustedBy(PeerCredentials.CurrentUid)) return (socket, peer, refused);
                // Logged once per squatter, not once per 10 ms retry.
                if (refused?.Pid != peer.Pid)
                    phases.Log.Warning("refused {Peer} on {Path}: only this user or root may take the listeners; retrying until a trusted successor listens",
                        peer, server.UpgradeSock);
                refused = peer;
                socket.Dispose();
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            if (deadline.Elapsed >= timeout) return (null, default, refused);
            await Task.Delay(RetryInterval, cancel);
        }
    }

    private static HandoffOutcome Failed(LifecycleState phases, string reason)
    {
        phases.Failed(Phase.HandoffFailed, "{Reason}; still serving, a later SIGQUIT can try again", reason);
        return new HandoffOutcome(false);
    }
}
