using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>The serve loop's actions on a real process: its listeners, host, connections and pid file.</summary>
public sealed class ProcessActions(ServerConf server, ListenerRegistry registry, ProxyHost host, ConnectionTracker connections,
    PidFile pidFile, ProcessStatus status, ConfigReload reload, SuccessorHandoff? predecessor, LogFiles logs) : IServeActions
{
    private LifecycleState Lifecycle => status.Lifecycle;

    public Task<HandoffOutcome> HandOffAsync(CancellationToken cancel) =>
        PredecessorHandoff.RunAsync(server, registry, Lifecycle, status.Upgrades.Lineage, cancel);

    public void StartHandingOver() => connections.StartDraining();

    public void Reload() => reload.Run();

    public Task DrainAsync(string reason, TimeSpan deadline, CancellationToken abort, CancellationToken revert = default) =>
        new Drainer(registry, connections, host, Lifecycle)
            .DrainAsync(reason, deadline, TimeSpan.FromSeconds(server.DrainIdleTimeoutSeconds),
                server.WebsocketCloseAfterSeconds is { } webSockets ? TimeSpan.FromSeconds(webSockets) : null, abort, revert);

    public async Task RevertAsync(string reason)
    {
        var resumed = registry.ResumeAccepting();
        connections.StopDraining();
        var restarted = host.StopStarted;
        if (restarted) await host.RestartAsync(CancellationToken.None);
        var pidFileNote = "";
        try
        {
            pidFile.Commit(pidFile.Prepare());
        }
        catch (IOException e)
        {
            // Serving matters more than the file; the operator learns why it is stale.
            pidFileNote = $"; the pid file could not be rewritten: {e.Message}";
        }
        Lifecycle.Enter(Phase.UpgradeReverted, "{Reason}; pid {Pid} serves again on {Listeners} listeners{Restart}, pid file {PidFile}{Note}; a later SIGQUIT can try again",
            reason, status.Pid, resumed, restarted ? " (its host restarted: the drain had begun stopping it)" : "", pidFile.Path, pidFileNote);
    }

    public Task ReleasePredecessorAsync() => predecessor?.ReleaseAsync() ?? Task.CompletedTask;

    public void ReopenLogs() => logs.Reopen();

    public void Exit(int code)
    {
        pidFile.RemoveIfOwn();
        Lifecycle.Enter(Phase.Exit, "code={Code} pid {Pid} after {Uptime:0.###} s", code, status.Pid, status.UptimeSeconds);
    }
}
