using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Cli;

/// <summary>Prints a configuration check the way nginx -t does: every problem, one per line, then a verdict.</summary>
public static class ConfigReport
{
    public static void PrintDiagnostics(ConfigLoadResult result)
    {
        foreach (var warning in result.Warnings) Console.Error.WriteLine($"pingora: warning: {warning}");
        foreach (var error in result.Errors) Console.Error.WriteLine($"pingora: error: {error}");
    }

    /// <summary><c>pingora -t</c>: exit 0 when the file is valid, 1 otherwise; starts nothing.</summary>
    public static int Test(string path)
    {
        var result = ConfigLoader.Load(path);
        PrintDiagnostics(result);
        if (!result.Ok)
        {
            Console.Error.WriteLine($"pingora: configuration file {path} test failed");
            return 1;
        }
        Console.WriteLine($"pingora: configuration file {path} test is successful");
        return 0;
    }
}
