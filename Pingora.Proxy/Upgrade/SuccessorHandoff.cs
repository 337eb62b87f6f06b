using System.Net.Sockets;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The new process's side of an upgrade (<c>pingora -u</c>): wait on upgrade_sock for the running instance, take
/// its listening sockets, and once serving, report Ready and wait for the Commit that makes this process the one.
/// </summary>
public sealed class SuccessorHandoff : IAsyncDisposable
{
    private readonly UpgradeChannel _channel;
    private int _released;

    private SuccessorHandoff(UpgradeChannel channel, int predecessorPid, IReadOnlyDictionary<ListenAddress, int> listeners,
        HandoffLineage lineage)
    {
        _channel = channel;
        PredecessorPid = predecessorPid;
        Listeners = listeners;
        Lineage = lineage;
    }

    public int PredecessorPid { get; }

    /// <summary>The predecessor's generation and upgrade counts (<see cref="HandoffLineage.First"/> from a version 1 sender).</summary>
    public HandoffLineage Lineage { get; }

    /// <summary>The received listening fds by address; the listener registry takes ownership of them.</summary>
    public IReadOnlyDictionary<ListenAddress, int> Listeners { get; }

    /// <param name="identity">The configured service identity: the predecessor may run as it, and needs access to the socket.</param>
    /// <param name="waiting">Called once upgrade_sock accepts connections.</param>
    public static async Task<SuccessorHandoff> WaitForPredecessorAsync(ServerConf server, LifecycleState phases, ISignalSource signals,
        ServiceIdentity? identity, Action waiting)
    {
        var timeout = TimeSpan.FromSeconds(server.UpgradeWaitTimeoutSeconds);
        using var deadline = new CancellationTokenSource(timeout);
        using var stopped = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        // SIGTERM or SIGINT while waiting ends the wait; nothing else can be acted on before there is a server.
        // The watch ends with the wait, so that later signals reach the serve loop.
        using var waitOver = new CancellationTokenSource();
        var watch = StopOnSignalAsync(signals, stopped, waitOver.Token, phases);
        try
        {
            return await ReceiveAsync(server, phases, identity, waiting, timeout, deadline, stopped);
        }
        finally
        {
            await waitOver.CancelAsync();
            await watch;
        }
    }

    private static async Task<SuccessorHandoff> ReceiveAsync(ServerConf server, LifecycleState phases, ServiceIdentity? identity,
        Action waiting, TimeSpan timeout, CancellationTokenSource deadline, CancellationTokenSource stopped)
    {
        Socket connection;
        using (var listener = UpgradeSocket.Listen(server.UpgradeSock, identity))
        {
            phases.Enter(Phase.UpgradeWait, "on {Path}: waiting up to {Timeout:0.###} s for the running instance (send it SIGQUIT)",
                server.UpgradeSock, timeout.TotalSeconds);
            waiting();
            try
            {
                connection = await AcceptTrustedAsync(listener, phases, identity, stopped.Token);
            }
            catch (OperationCanceledException)
            {
                throw new UpgradeException(deadline.IsCancellationRequested
                    ? $"no running instance handed over its listeners on {server.UpgradeSock} within {timeout.TotalSeconds:0.###} s (was it sent SIGQUIT?)"
                    : "upgrade stopped by a signal while waiting for the running instance");
            }
            finally
            {
                // Disposing a socket bound to a path deletes that path, even if another process bound it since
                // (docs/platform.md, socket 8): do it now, while the path is still ours, and not at some later exit.
                listener.Dispose();
                UpgradeSocket.DeleteIfPresent(server.UpgradeSock);
            }
        }

        ProcessSignals.StopIfTestAsks("upgrade-connected"); // a successor killed before it read anything
        var channel = new UpgradeChannel(connection);
        try
        {
            var (header, fds) = await channel.ReceiveListenersAsync(TimeSpan.FromSeconds(server.UpgradeAckTimeoutSeconds), stopped.Token);
            var listeners = header.Addresses.Zip(fds).ToDictionary(p => p.First, p => p.Second);
            phases.Enter(Phase.UpgradeReceived, "{Count} listeners from pid {Pid}: {Addresses}",
                fds.Length, header.SenderPid, string.Join(", ", header.Addresses));
            ProcessSignals.StopIfTestAsks("upgrade-received"); // a successor killed right after taking the fds
            return new SuccessorHandoff(channel, header.SenderPid, listeners, header.Lineage ?? HandoffLineage.First);
        }
        catch (Exception e) when (e is TimeoutException or InvalidDataException or IOException or OperationCanceledException)
        {
            channel.Dispose();
            throw new UpgradeException($"receiving the listeners failed: {e.Message}");
        }
    }

    private static async Task<Socket> AcceptTrustedAsync(Socket listener, LifecycleState phases, ServiceIdentity? identity, CancellationToken cancel)
    {
        var ownUid = PeerCredentials.CurrentUid;
        while (true)
        {
            var connection = await listener.AcceptAsync(cancel);
            var peer = PeerCredentials.Of(connection);
            if (peer.IsTrustedBy(ownUid, identity?.Uid)) return connection;
            phases.Log.Warning("refused an upgrade connection from {Peer}: only uid {Uid}, the service user or root may hand over listeners", peer, ownUid);
            connection.Dispose();
        }
    }

    private static async Task StopOnSignalAsync(ISignalSource signals, CancellationTokenSource stop, CancellationToken done, LifecycleState phases)
    {
        try
        {
            while (await signals.Signals.WaitToReadAsync(done))
            {
                if (signals.Signals.TryRead(out var signal) && signal is Signal.Terminate or Signal.Interrupt)
                {
                    await stop.CancelAsync();
                    return;
                }
                phases.Log.Information("{Signal} ignored while waiting for the running instance", signal);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Tells the predecessor this process cannot take over; it keeps serving.</summary>
    public async Task ReportFailedAsync(string reason)
    {
        try
        {
            await _channel.SendFailedAsync(reason);
        }
        catch (IOException)
        {
            // The predecessor is gone or gave up already; it keeps serving either way.
        }
    }

    /// <summary>Reports Ready and waits for the Commit. False: the predecessor gave up, and keeps serving.</summary>
    public async Task<bool> ReportReadyAndAwaitCommitAsync(TimeSpan timeout)
    {
        try
        {
            await _channel.SendReadyAsync();
            ProcessSignals.StopIfTestAsks("ready-sent");
            return await _channel.ReceiveCommitAsync(timeout) is CommitDecision.Committed;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// After the commit, once this process ends on purpose (SIGTERM, SIGINT, its own upgrade committed): tells the
    /// predecessor, if it still drains, not to take the listeners back. Without this, the connection closing at exit
    /// looks the same as this process dying. Once only; never fails.
    /// </summary>
    public async Task ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        try
        {
            await _channel.SendReleasedAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The predecessor has exited already: nobody to release.
        }
    }

    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
