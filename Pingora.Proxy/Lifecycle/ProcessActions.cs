using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>The serve loop's actions on a real process: its listeners, host, connections and pid file.</summary>
public sealed class ProcessActions(ServerConf server, ListenerRegistry registry, ProxyHost host, ConnectionTracker connections,
    PidFile pidFile, ProcessStatus status, ConfigReload reload) : IServeActions
{
    private LifecycleState Lifecycle => status.Lifecycle;

    public Task<HandoffOutcome> HandOffAsync(CancellationToken cancel) =>
        PredecessorHandoff.RunAsync(server, registry, Lifecycle, cancel);

    public void StartHandingOver() => connections.StartDraining();

    public void Reload() => reload.Run();

    public Task DrainAsync(string reason, TimeSpan deadline, CancellationToken abort) =>
        new Drainer(registry, connections, host, Lifecycle)
            .DrainAsync(reason, deadline, TimeSpan.FromSeconds(server.DrainIdleTimeoutSeconds),
                server.WebsocketCloseAfterSeconds is { } webSockets ? TimeSpan.FromSeconds(webSockets) : null, abort);

    public void Exit(int code)
    {
        pidFile.RemoveIfOwn();
        Lifecycle.Enter(Phase.Exit, "code={Code} pid {Pid} after {Uptime:0.###} s", code, status.Pid, status.UptimeSeconds);
    }
}
