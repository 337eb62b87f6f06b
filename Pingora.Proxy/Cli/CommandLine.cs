namespace Pingora.Proxy.Cli;

/// <summary>What the command line asked for. Flags and long forms are Pingora's.</summary>
public sealed record CommandLine(string ConfigPath, bool Daemon, bool Upgrade, bool Test, bool Help, bool Version)
{
    public const string DefaultConfigPath = "/etc/pingora.conf";

    public const string Usage = """
        Usage: pingora [-c FILE] [-d] [-u] [-t] [-h] [-V]

          -c, --conf FILE   configuration file (default /etc/pingora.conf)
          -d, --daemon      run in the background (pid file, error log)
          -u, --upgrade     start as the successor of the running instance: take over its
                            listening sockets through upgrade_sock, then send it SIGQUIT
          -t, --test        check the configuration file and exit
          -h, --help        print this help
          -V, --version     print the version

        Signals: SIGQUIT hands over to a successor (-u), SIGTERM drains and exits,
                 SIGINT exits at once, SIGHUP reloads routes and clusters.
        """;

    /// <summary>Parses <paramref name="args"/>; short flags combine as in "-du" or "-tc FILE".</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? config = null;
        bool daemon = false, upgrade = false, test = false, help = false, version = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            switch (arg)
            {
                case "--conf": config = inlineValue ?? Value(args, ref i, arg); continue;
                case "--daemon": daemon = true; continue;
                case "--upgrade": upgrade = true; continue;
                case "--test": test = true; continue;
                case "--help": help = true; continue;
                case "--version": version = true; continue;
            }
            // Short flags, alone or combined ("-dc FILE"): one table for both.
            if (inlineValue is null && arg.Length >= 2 && arg[0] == '-' && arg[1] != '-')
            {
                for (var k = 1; k < arg.Length; k++)
                {
                    switch (arg[k])
                    {
                        case 'd': daemon = true; break;
                        case 'u': upgrade = true; break;
                        case 't': test = true; break;
                        case 'h': help = true; break;
                        case 'V': version = true; break;
                        case 'c' when k == arg.Length - 1: config = Value(args, ref i, "-c"); break;
                        case 'c': throw new UsageException($"-c takes a file name, so it must come last in '{arg}'");
                        default: throw new UsageException(arg.Length == 2 ? $"unknown flag '{arg}'" : $"unknown flag '-{arg[k]}' in '{arg}'");
                    }
                }
                continue;
            }
            throw new UsageException(arg.StartsWith('-') ? $"unknown flag '{arg}'" : $"unexpected argument '{arg}'");
        }
        return new CommandLine(config ?? DefaultConfigPath, daemon, upgrade, test, help, version);
    }

    private static string Value(IReadOnlyList<string> args, ref int i, string flag)
    {
        if (i + 1 >= args.Count || args[i + 1].Length == 0) throw new UsageException($"{flag} needs a file name");
        return args[++i];
    }
}

public sealed class UsageException(string message) : Exception(message);
