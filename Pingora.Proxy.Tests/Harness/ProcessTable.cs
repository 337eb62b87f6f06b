namespace Pingora.Proxy.Tests.Harness;

/// <summary>Finds processes by their command line in /proc: a daemon that detached is nobody's child the test
/// holds, but its <c>-c</c> names the test's own directory.</summary>
public static class ProcessTable
{
    /// <summary>Live processes (not zombies: their command line is empty) whose command line contains
    /// <paramref name="text"/>, this process excepted.</summary>
    public static IReadOnlyList<int> WithCommandLineContaining(string text)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId) continue;
            if (CommandLine(pid) is { } command && command.Contains(text, StringComparison.Ordinal)) found.Add(pid);
        }
        return found;
    }

    /// <summary>The command line with its arguments joined by spaces; null once the process is gone, empty for a zombie.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
