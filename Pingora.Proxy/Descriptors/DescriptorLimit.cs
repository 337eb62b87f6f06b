namespace Pingora.Proxy.Descriptors;

/// <summary>The process's soft RLIMIT_NOFILE, as the kernel reports it in /proc/self/limits.</summary>
public static class DescriptorLimit
{
    /// <summary>The soft limit, or null when it is unlimited or cannot be read (then only failed accepts pause).</summary>
    public static int? Read(string path = "/proc/self/limits")
    {
        try
        {
            // "Max open files            1024                 524288               files"
            var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 0 } && int.TryParse(fields[0], out var soft) ? soft : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
