using Mono.Unix.Native;

namespace Pingora.Proxy.Configuration;

/// <summary>Range and form checks on the top-level server keys.</summary>
internal static class ServerConfValidator
{
    public static readonly IReadOnlyList<string> LogLevels = ["verbose", "debug", "information", "warning", "error", "fatal"];

    // .NET timers (Task.Delay, CancellationTokenSource.CancelAfter) refuse waits longer than uint.MaxValue - 1 ms;
    // a larger timeout would pass here and then throw in the middle of an upgrade or shutdown.
    private const double MaxSeconds = (uint.MaxValue - 1) / 1000.0;

    // Zero is meaningful for these: exit (or close WebSockets) without waiting for in-flight requests; no DNS
    // destination resolver.
    private static readonly HashSet<string> ZeroAllowed =
        [nameof(ServerConf.GracePeriodSeconds), nameof(ServerConf.GracefulShutdownTimeoutSeconds),
         nameof(ServerConf.WebsocketCloseAfterSeconds), nameof(ServerConf.DnsRefreshSeconds)];

    // Two buffers of it are kept; beyond a few MB a buffer only delays lines and holds memory.
    private const int MaxAccessLogBuffer = 16 * 1024 * 1024;

    public static void Validate(ServerConf server, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        void Check(bool ok, string property, string message)
        {
            if (!ok) diagnostics.Error(sourceMap.Locate(property, KeyNames.ToSnakeCase(property)), message);
        }

        Check(server.Version == 1, nameof(ServerConf.Version), $"must be 1, got {server.Version}");
        Check(server.Threads >= 1, nameof(ServerConf.Threads), $"must be at least 1, got {server.Threads}");

        // By reflection so that a *_seconds key added to ServerConf later is covered without touching this file.
        foreach (var property in typeof(ServerConf).GetProperties())
        {
            if (property.PropertyType != typeof(double) && property.PropertyType != typeof(double?)) continue;
            if (!property.Name.EndsWith("Seconds", StringComparison.Ordinal) || property.GetValue(server) is not double seconds) continue;
            if (ZeroAllowed.Contains(property.Name))
                Check(seconds >= 0, property.Name, $"must be 0 or more, got {seconds}");
            else
                Check(seconds > 0, property.Name, $"must be greater than 0, got {seconds}");
            Check(seconds <= MaxSeconds, property.Name, $"must be at most {MaxSeconds:0} (about 49 days, the longest .NET timers wait), got {seconds}");
        }

        Check(LogLevels.Contains(server.LogLevel ?? "", StringComparer.OrdinalIgnoreCase), nameof(ServerConf.LogLevel),
            $"must be one of {string.Join(", ", LogLevels)}, got '{server.LogLevel}'");
        Check(server.StatusPath is null || server.StatusPath.StartsWith('/'), nameof(ServerConf.StatusPath),
            $"must start with '/', got '{server.StatusPath}'");
        Check(!string.IsNullOrWhiteSpace(server.PidFile), nameof(ServerConf.PidFile), "must not be empty");
        Check(!string.IsNullOrWhiteSpace(server.UpgradeSock), nameof(ServerConf.UpgradeSock), "must not be empty");
        // sockaddr_un holds 108 bytes with the terminating NUL; a longer path fails only at upgrade time.
        Check(System.Text.Encoding.UTF8.GetByteCount(server.UpgradeSock ?? "") <= 107, nameof(ServerConf.UpgradeSock),
            "a Unix socket path must be at most 107 bytes");
        // Checked here so that -t, the start and a reload all refuse a name the privilege drop could not switch to.
        Check(server.User is null || Syscall.getpwnam(server.User) is not null, nameof(ServerConf.User),
            $"no such user '{server.User}' on this system");
        Check(server.Group is null || Syscall.getgrnam(server.Group) is not null, nameof(ServerConf.Group),
            $"no such group '{server.Group}' on this system");
        Check(AccessLog.AccessLogFormats.Parse(server.AccessLogFormat) is not null, nameof(ServerConf.AccessLogFormat),
            $"must be one of {string.Join(", ", AccessLog.AccessLogFormats.Names)}, got '{server.AccessLogFormat}'");
        Check(server.AccessLog is null || server.AccessLog.Trim().Length > 0, nameof(ServerConf.AccessLog), "must not be empty when set");
        Check(server.AccessLogBufferBytes is >= 0 and <= MaxAccessLogBuffer, nameof(ServerConf.AccessLogBufferBytes),
            $"must be from 0 (one write per line) to {MaxAccessLogBuffer}, got {server.AccessLogBufferBytes}");
        Check(server.SessionAffinityKeysDir is null || server.SessionAffinityKeysDir.Trim().Length > 0,
            nameof(ServerConf.SessionAffinityKeysDir), "must not be empty when set");
    }
}
