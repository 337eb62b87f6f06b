using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Hosting;

namespace Pingora.Proxy.Cli;

/// <summary>Dispatches the command line: help, version, config test, or a server's life.</summary>
public static class Entry
{
    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine cli;
        try
        {
            cli = CommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"pingora: {e.Message}");
            Console.Error.WriteLine(CommandLine.Usage);
            return 2;
        }
        if (cli.Help)
        {
            Console.WriteLine(CommandLine.Usage);
            return 0;
        }
        if (cli.Version)
        {
            Console.WriteLine($"pingora {ProcessStatus.Version}");
            return 0;
        }
        if (cli.Test) return ConfigReport.Test(cli.ConfigPath);
        return await ServerBootstrap.RunAsync(cli, args);
    }
}
