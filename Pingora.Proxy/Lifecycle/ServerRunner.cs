using Pingora.Proxy.Admin;
using Pingora.Proxy.Cli;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Native;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Metrics;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// One server from its bootstrapped configuration to its exit code: configure → [upgrade-wait → upgrade-received] →
/// listen → serving → [upgrade-committed], then the <see cref="ServeLoop"/> until a signal ends it.
/// </summary>
public sealed class ServerRunner : IAsyncDisposable
{
    private readonly CommandLine _cli;
    private readonly PingoraConfig _config;
    private readonly LifecycleState _lifecycle;
    private readonly ISignalSource _signals;
    private readonly ProcessStatus _status;
    private readonly ConnectionTracker _connections = new();
    private readonly PidFile _pidFile;
    private readonly ServiceIdentity? _identity;
    private readonly DaemonChild? _daemon;
    private readonly LogFiles _logs;
    private ListenerRegistry? _registry;
    private ProxyHost? _host;
    private AdminServer? _admin;

    public ServerRunner(CommandLine cli, PingoraConfig config, LifecycleState lifecycle, ISignalSource signals,
        ServiceIdentity? identity, DaemonChild? daemon, LogFiles logs)
    {
        _logs = logs;
        _cli = cli;
        _identity = identity;
        _daemon = daemon;
        _config = config;
        _lifecycle = lifecycle;
        _signals = signals;
        _status = new ProcessStatus(lifecycle);
        if (ProxyHost.Metrics(config.Server) is { } metrics)
            _ = new LifecycleMetrics(metrics, lifecycle, _status.Upgrades, _connections, TimeProvider.System);
        _pidFile = new PidFile(config.Server.PidFile);
    }

    private ServerConf Server => _config.Server;
    private Serilog.ILogger Log => _lifecycle.Log;

    public async Task<int> RunAsync()
    {
        _lifecycle.Enter(Phase.Configure, "{File}: {Listeners} listeners, {Routes} routes, {Clusters} clusters; pid {Pid}",
            _config.FilePath, _config.Listeners.Count, _config.Routes.Count, _config.Clusters.Count, _status.Pid);

        // The host needs no socket: it builds on another core while a successor waits for its predecessor's sockets,
        // which takes a good part off the upgrade's critical path.
        var building = Task.Run(() => ProxyHost.Build(_config, _connections, _status, Log, _logs.AccessLog));
        SuccessorHandoff? predecessor = null;
        try
        {
            // A successor is ready for its launcher once it waits on upgrade_sock: from then on the SIGQUIT may come
            // in either order (systemd's ExecReload sends it first; an operator may send it after `pingora -u -d`).
            if (_cli.Upgrade) predecessor = await SuccessorHandoff.WaitForPredecessorAsync(Server, _lifecycle, _signals, _identity, NotifyLauncher);
        }
        catch
        {
            await DiscardAsync(building);
            throw;
        }
        await using var _ = predecessor;
        if (predecessor is not null) _status.Upgrades.Inherit(predecessor.Lineage);

        string preparedPidFile;
        try
        {
            _host = await building;
            Listen(predecessor?.Listeners);
            // Everything that needs root happens before the drop: binding, and reading TLS keys (in Listen).
            _host.Listen(_registry!, _config.Listeners);
            if (Server.SessionAffinityKeysDir is { } keys)
            {
                Directory.CreateDirectory(keys);
                _identity?.Own(keys, "session_affinity_keys_dir");
            }
            if (_identity is not null)
            {
                _identity.Assume();
                // The pid file is renamed into place and removed as this user, so it is written as this user too:
                // preparing it as root would only defer the failure and leave a file the user cannot remove.
                _pidFile.CheckDirectoryWritable(_identity.User);
            }
            preparedPidFile = _pidFile.Prepare();
            await StartAsync();
        }
        catch (Exception e) when (predecessor is not null)
        {
            await predecessor.ReportFailedAsync(e.Message);
            throw;
        }

        var actions = new ProcessActions(Server, _registry!, _host, _connections, _pidFile, _status,
            new ConfigReload(_cli.ConfigPath, _config, _host, _lifecycle), predecessor, _logs);
        if (predecessor is not null)
        {
            if (!await CompleteUpgradeAsync(predecessor, preparedPidFile, actions)) return 1;
        }
        else
        {
            _pidFile.Commit(preparedPidFile);
            LogServing();
            NotifyLauncher();
        }
        return await new ServeLoop(Server, _signals, actions, _lifecycle, TimeProvider.System).RunAsync();
    }

    /// <summary>The handoff failed: the process exits with its error, so the host's own outcome is of no interest.</summary>
    private static async Task DiscardAsync(Task<ProxyHost> building)
    {
        try
        {
            await (await building).DisposeAsync();
        }
        catch (Exception)
        {
            // Only the handoff's error is reported.
        }
    }

    private void NotifyLauncher() => _daemon?.NotifyReady(Server, Log);

    private void Listen(IReadOnlyDictionary<ListenAddress, int>? inherited)
    {
        _registry = ListenerRegistry.Acquire(_config.Listeners.Select(l => l.Address), inherited, Server.AdminListener);
        _lifecycle.Enter(Phase.Listen, "{Listeners}", string.Join(", ",
            _registry.Handed.Select(l => $"{(l == _registry.Admin ? "admin " : "")}{l.Address} ({l.Origin.ToString().ToLowerInvariant()}, fd {l.Fd})")));
    }

    private async Task StartAsync()
    {
        if (Server.Threads > 1)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, Server.Threads), io);
        }
        await _host!.StartAsync(CancellationToken.None);
        if (_registry!.Admin is { } admin)
        {
            _admin = AdminServer.Build(Server, admin, _status, _connections, Log);
            await _admin.StartAsync();
        }
    }

    /// <summary>Logged once the pid file names this process (or, for a successor, just before it reports Ready).</summary>
    private void LogServing()
    {
        _lifecycle.Enter(Phase.Serving, "pid {Pid} on {Listeners}{Identity}", _status.Pid,
            string.Join(", ", _registry!.Listeners.Select(l => l.Address)), _identity is null ? "" : $" as {_identity.User}");
    }

    /// <summary>
    /// Tells the predecessor this process serves and waits for it to commit. Only a committed upgrade keeps this
    /// process: without the commit the predecessor goes on serving, so this one drains what it accepted and exits.
    /// </summary>
    private async Task<bool> CompleteUpgradeAsync(SuccessorHandoff predecessor, string prepared, ProcessActions actions)
    {
        LogServing();
        if (!await predecessor.ReportReadyAndAwaitCommitAsync(TimeSpan.FromSeconds(Server.UpgradeAckTimeoutSeconds)))
        {
            PidFile.Discard(prepared);
            Log.Error("the predecessor (pid {Pid}) did not commit the upgrade (it gave up, or is gone); it serves on if it is alive, and this process exits", predecessor.PredecessorPid);
            await actions.DrainAsync("upgrade aborted", TimeSpan.FromSeconds(Server.GracefulShutdownTimeoutSeconds), CancellationToken.None);
            return false;
        }
        ProcessSignals.StopIfTestAsks("commit-received"); // a successor killed before its pid file names it
        _pidFile.Commit(prepared);
        var released = _registry!.ReleaseUnused();
        _lifecycle.Enter(Phase.UpgradeCommitted, "pid {Pid} took over from pid {Predecessor}; pid file {PidFile} updated{Released}",
            _status.Pid, predecessor.PredecessorPid, _pidFile.Path,
            released > 0 ? $"; closed {released} inherited listeners this config no longer has" : "");
        ProcessSignals.StopIfTestAsks("upgrade-committed");
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_admin is not null) await _admin.DisposeAsync();
        if (_registry is not null)
        {
            await _registry.CloseAllAsync();
            await _registry.CloseAdminAsync();
        }
    }
}
