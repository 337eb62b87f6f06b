using Pingora.Proxy.Cli;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// One server process from configuration to exit, as a sequence of named phases:
/// configure → [upgrade-wait → upgrade-received] → listen → serving → [upgrade-committed] → (signals) →
/// [handoff-*] → stop-accepting → drain → drained → exit.
/// </summary>
public sealed class ServerRunner
{
    private readonly CommandLine _cli;
    private readonly PingoraConfig _config;
    private readonly PhaseLog _phases;
    private readonly SignalListener _signals;
    private readonly ProcessStatus _status = new();
    private readonly ConnectionTracker _connections = new();
    private readonly PidFile _pidFile;
    private readonly ServiceIdentity? _identity;
    private readonly DaemonChild? _daemon;
    private ListenerRegistry? _registry;
    private ProxyHost? _host;

    private ServerRunner(CommandLine cli, PingoraConfig config, PhaseLog phases, SignalListener signals,
        ServiceIdentity? identity, DaemonChild? daemon)
    {
        _cli = cli;
        _identity = identity;
        _daemon = daemon;
        _config = config;
        _phases = phases;
        _signals = signals;
        _pidFile = new PidFile(config.Server.PidFile);
    }

    private ServerConf Server => _config.Server;
    private Serilog.ILogger Log => _phases.Log;

    /// <param name="args">The command line as given, for the daemon launcher to pass on.</param>
    public static async Task<int> RunAsync(CommandLine cli, IReadOnlyList<string> args)
    {
        var loaded = ConfigLoader.Load(cli.ConfigPath);
        if (!loaded.Ok)
        {
            ConfigReport.PrintDiagnostics(loaded);
            Console.Error.WriteLine($"pingora: not started: configuration file {cli.ConfigPath} has errors");
            return 1;
        }
        var config = loaded.Config!;
        ServiceIdentity? identity;
        Serilog.Core.Logger logger;
        var daemon = DaemonChild.FromEnvironment();
        try
        {
            identity = ServiceIdentity.Resolve(config.Server);
            if ((cli.Daemon || config.Server.Daemon) && daemon is null)
                return await DaemonLauncher.RunAsync(args, config.Server, identity);
            // The daemon leaves this directory; SIGHUP re-reads the file by this path.
            if (daemon is not null) cli = cli with { ConfigPath = Path.GetFullPath(cli.ConfigPath) };
            daemon?.Detach(config.Server);
            logger = LogSetup.Create(config.Server, identity?.Owner);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"pingora: {e.Message}");
            return 1;
        }
        await using var log = logger;
        foreach (var warning in loaded.Warnings) log.Warning("{Warning}", warning.ToString());
        var phases = new PhaseLog(log);
        // Registered before anything slow, so that no signal finds the runtime's default action in place.
        using var signals = new SignalListener();
        var runner = new ServerRunner(cli, config, phases, signals, identity, daemon);
        try
        {
            return await runner.RunAsync();
        }
        catch (Exception e) when (e is ListenerException or UpgradeException or IOException)
        {
            // Expected failures (port in use, no predecessor, unwritable pid file): one clear line, no stack trace.
            phases.Failed(Phase.Exit, "code=1: {Reason}", e.Message);
            Console.Error.WriteLine($"pingora: {e.Message}");
            return 1;
        }
        finally
        {
            await runner.DisposeAsync();
        }
    }

    private async Task<int> RunAsync()
    {
        _phases.Enter(Phase.Configure, "{File}: {Listeners} listeners, {Routes} routes, {Clusters} clusters; pid {Pid}",
            _config.FilePath, _config.Listeners.Count, _config.Routes.Count, _config.Clusters.Count, _status.Pid);

        // The host needs no socket: it builds on another core while a successor waits for its predecessor's sockets,
        // which takes a good part off the upgrade's critical path.
        var building = Task.Run(() => ProxyHost.Build(_config, _connections, _status, Log));
        SuccessorHandoff? predecessor = null;
        try
        {
            // A successor is ready for its launcher once it waits on upgrade_sock: from then on the SIGQUIT may come
            // in either order (systemd's ExecReload sends it first; an operator may send it after `pingora -u -d`).
            if (_cli.Upgrade) predecessor = await SuccessorHandoff.WaitForPredecessorAsync(Server, _phases, _signals, _identity, NotifyLauncher);
        }
        catch
        {
            await DiscardAsync(building);
            throw;
        }
        await using var _ = predecessor;

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

        if (predecessor is not null)
        {
            if (!await CompleteUpgradeAsync(predecessor, preparedPidFile)) return 1;
        }
        else
        {
            _pidFile.Commit(preparedPidFile);
            LogServing();
            NotifyLauncher();
        }
        return await ServeAsync();
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
        _registry = ListenerRegistry.Acquire(_config.Listeners.Select(l => l.Address), inherited);
        _phases.Enter(Phase.Listen, "{Listeners}", string.Join(", ",
            _registry.Listeners.Select(l => $"{l.Address} ({l.Origin.ToString().ToLowerInvariant()}, fd {l.Fd})")));
    }

    private async Task StartAsync()
    {
        if (Server.Threads > 1)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, Server.Threads), io);
        }
        await _host!.StartAsync(CancellationToken.None);
        _status.State = "serving";
    }

    /// <summary>Logged once the pid file names this process (or, for a successor, just before it reports Ready).</summary>
    private void LogServing()
    {
        _phases.Enter(Phase.Serving, "pid {Pid} on {Listeners}{Identity}", _status.Pid,
            string.Join(", ", _registry!.Listeners.Select(l => l.Address)), _identity is null ? "" : $" as {_identity.User}");
    }

    /// <summary>
    /// Tells the predecessor this process serves and waits for it to commit. Only a committed upgrade keeps this
    /// process: without the commit the predecessor goes on serving, so this one drains what it accepted and exits.
    /// </summary>
    private async Task<bool> CompleteUpgradeAsync(SuccessorHandoff predecessor, string prepared)
    {
        LogServing();
        if (!await predecessor.ReportReadyAndAwaitCommitAsync(TimeSpan.FromSeconds(Server.UpgradeAckTimeoutSeconds)))
        {
            PidFile.Discard(prepared);
            Log.Error("the predecessor (pid {Pid}) did not commit the upgrade; it keeps serving, this process exits", predecessor.PredecessorPid);
            await DrainAsync("upgrade aborted", TimeSpan.FromSeconds(Server.GracefulShutdownTimeoutSeconds));
            return false;
        }
        _pidFile.Commit(prepared);
        var released = _registry!.ReleaseUnused();
        _phases.Enter(Phase.UpgradeCommitted, "pid {Pid} took over from pid {Predecessor}; pid file {PidFile} updated{Released}",
            _status.Pid, predecessor.PredecessorPid, _pidFile.Path,
            released > 0 ? $"; closed {released} inherited listeners this config no longer has" : "");
        return true;
    }

    /// <summary>Serves until a signal ends it; returns the exit code.</summary>
    private async Task<int> ServeAsync()
    {
        using var handoffCancel = new CancellationTokenSource();
        Task<HandoffOutcome>? handoff = null;
        Task? handedOver = null;      // completes CLOSE_TIMEOUT after a committed handoff
        var never = new TaskCompletionSource().Task;
        var nextSignal = _signals.Signals.ReadAsync().AsTask();

        while (true)
        {
            var done = await Task.WhenAny(nextSignal, handoff ?? never, handedOver ?? never);
            if (done == handedOver)
            {
                await DrainAsync("handed over", TimeSpan.FromSeconds(Server.GracePeriodSeconds));
                return Exit(0);
            }
            if (done == handoff)
            {
                var outcome = await handoff;
                handoff = null;
                if (outcome.Committed)
                {
                    // Both processes accept for CLOSE_TIMEOUT; meanwhile keep-alive clients here are asked to
                    // reconnect, so most of them have moved by the time this process stops accepting.
                    _connections.StartDraining();
                    _status.State = "handing over";
                    handedOver = Task.Delay(TimeSpan.FromSeconds(Server.CloseTimeoutSeconds));
                }
                continue;
            }

            var signal = await nextSignal;
            nextSignal = _signals.Signals.ReadAsync().AsTask();
            switch (signal)
            {
                case Signal.Interrupt:
                    Log.Information("SIGINT: exiting at once");
                    return Exit(0);
                case Signal.Terminate:
                    // A handoff still running is using the listener fds; let it end before the drain closes them.
                    await handoffCancel.CancelAsync();
                    if (handoff is not null) await handoff;
                    await DrainAsync("SIGTERM", TimeSpan.FromSeconds(Server.GracefulShutdownTimeoutSeconds));
                    return Exit(0);
                case Signal.Reload when handedOver is null:
                    Reload();
                    break;
                case Signal.Upgrade when handoff is null && handedOver is null:
                    handoff = PredecessorHandoff.RunAsync(Server, _registry!, _phases, handoffCancel.Token);
                    break;
                default:
                    Log.Information("{Signal} ignored: {State}", signal, handoff is not null ? "a handoff is in progress" : "already handed over");
                    break;
            }
        }
    }

    private void Reload()
    {
        var loaded = ConfigLoader.Load(_cli.ConfigPath);
        if (!loaded.Ok)
        {
            _phases.Failed(Phase.Reload, "rejected: {File} has errors; the running configuration stays:{NewLine}{Errors}",
                _cli.ConfigPath, Environment.NewLine, string.Join(Environment.NewLine, loaded.Errors));
            return;
        }
        var reloaded = loaded.Config!;
        foreach (var warning in loaded.Warnings) Log.Warning("{Warning}", warning.ToString());
        var needUpgrade = ConfigDiff.NeedingUpgrade(_config, reloaded);
        if (needUpgrade.Count > 0)
            Log.Warning("reload does not apply changes to {Keys}: they take effect with an upgrade (pingora -u, then SIGQUIT)",
                string.Join(", ", needUpgrade));
        _host!.ApplyRoutes(reloaded.Routes, reloaded.Clusters);
        _phases.Enter(Phase.Reload, "ok: {Routes} routes, {Clusters} clusters", reloaded.Routes.Count, reloaded.Clusters.Count);
    }

    private async Task DrainAsync(string reason, TimeSpan deadline)
    {
        _status.State = "draining";
        await new Drainer(_registry!, _connections, _host!, _phases)
            .DrainAsync(reason, deadline, TimeSpan.FromSeconds(Server.DrainIdleTimeoutSeconds));
    }

    private int Exit(int code)
    {
        _pidFile.RemoveIfOwn();
        _phases.Enter(Phase.Exit, "code={Code} pid {Pid} after {Uptime:0.###} s", code, _status.Pid, _status.UptimeSeconds);
        return code;
    }

    private async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_registry is not null) await _registry.CloseAllAsync();
    }
}
