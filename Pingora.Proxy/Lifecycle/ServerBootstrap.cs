using Pingora.Proxy.Cli;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Logging;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// Everything before a server runs: load the configuration, launch or become the daemon, resolve the service
/// identity, open the log and register the signals; then <see cref="ServerRunner"/> runs the server, and expected
/// start-up failures become one line and exit code 1.
/// </summary>
public static class ServerBootstrap
{
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
        LogFiles logs;
        var daemon = DaemonChild.FromEnvironment();
        try
        {
            identity = ServiceIdentity.Resolve(config.Server);
            if ((cli.Daemon || config.Server.Daemon) && daemon is null)
                return await DaemonLauncher.RunAsync(args, config.Server, identity);
            // The daemon leaves this directory; SIGHUP re-reads the file by this path.
            if (daemon is not null) cli = cli with { ConfigPath = Path.GetFullPath(cli.ConfigPath) };
            daemon?.Detach(config.Server);
            logs = LogFiles.Open(config.Server, identity?.Owner);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"pingora: {e.Message}");
            return 1;
        }
        await using var _ = logs;
        var log = logs.Logger;
        foreach (var warning in loaded.Warnings) log.Warning("{Warning}", warning.ToString());
        var lifecycle = new LifecycleState(log);
        // Registered before anything slow, so that no signal finds the runtime's default action in place.
        using var signals = new PosixSignalSource();
        var runner = new ServerRunner(cli, config, lifecycle, signals, identity, daemon, logs);
        try
        {
            return await runner.RunAsync();
        }
        catch (Exception e) when (e is ListenerException or UpgradeException or IOException)
        {
            // Expected failures (port in use, no predecessor, unwritable pid file): one clear line, no stack trace.
            lifecycle.Failed(Phase.Exit, "code=1: {Reason}", e.Message);
            Console.Error.WriteLine($"pingora: {e.Message}");
            return 1;
        }
        finally
        {
            await runner.DisposeAsync();
        }
    }
}
