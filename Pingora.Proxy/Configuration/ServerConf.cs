namespace Pingora.Proxy.Configuration;

/// <summary>
/// The top-level server keys. Names and defaults follow Pingora's <c>ServerConf</c> so that a Pingora user's file
/// reads the same here; the keys after the Pingora block are ours and say so in the README.
/// YAML keys are snake_case (<c>grace_period_seconds</c>); durations are seconds and may be fractional.
/// </summary>
public sealed class ServerConf
{
    // --- Pingora's keys ---
    public int Version { get; set; } = 1;
    public bool Daemon { get; set; }
    public string? ErrorLog { get; set; }
    public string PidFile { get; set; } = "/tmp/pingora.pid";
    public string UpgradeSock { get; set; } = "/tmp/pingora_upgrade.sock";
    public string? User { get; set; }
    public string? Group { get; set; }
    public string? WorkingDirectory { get; set; }
    public int Threads { get; set; } = 1;
    /// <summary>EXIT_TIMEOUT: after an upgrade, how long in-flight requests may take before the old process exits.</summary>
    public double GracePeriodSeconds { get; set; } = 300;
    /// <summary>On SIGTERM, how long in-flight requests may take before the process exits.</summary>
    public double GracefulShutdownTimeoutSeconds { get; set; } = 5;
    public bool DaemonWaitForReady { get; set; }
    public double DaemonReadyTimeoutSeconds { get; set; } = 600;
    public double DaemonNotifyTimeoutSeconds { get; set; } = 60;

    // --- ours ---
    /// <summary>Minimum level written to the log: verbose, debug, information, warning, error, fatal.</summary>
    public string LogLevel { get; set; } = "information";
    /// <summary>When set, requests to this path are answered by the daemon itself with its status (no backend).</summary>
    public string? StatusPath { get; set; }
    /// <summary>CLOSE_TIMEOUT: after handing its listeners over, how long the old process keeps accepting too.</summary>
    public double CloseTimeoutSeconds { get; set; } = 5;
    /// <summary>On SIGQUIT, how long the running process keeps trying to reach a successor on upgrade_sock.</summary>
    public double UpgradeConnectTimeoutSeconds { get; set; } = 5;
    /// <summary>With -u, how long the successor waits for its predecessor to connect.</summary>
    public double UpgradeWaitTimeoutSeconds { get; set; } = 30;
    /// <summary>How long the predecessor waits, after sending its listeners, for the successor to report it serves.</summary>
    public double UpgradeAckTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// Where the keys that protect session-affinity cookies are kept, so cookies issued before an upgrade still pin
    /// their client after it. Unset: keys live in memory and affinity resets at each upgrade.
    /// </summary>
    public string? SessionAffinityKeysDir { get; set; }
    /// <summary>
    /// While draining, how long connections get to end on their own (each HTTP/1.x response then carries
    /// Connection: close, and a just-accepted connection sends its first request) before idle ones are closed.
    /// </summary>
    public double DrainIdleTimeoutSeconds { get; set; } = 2;
    /// <summary>
    /// While draining, how long after the drain begins WebSockets are sent their close frame (1001), so that their
    /// clients reconnect (to the successor) early. Unset: at the deadline, as every other connection.
    /// </summary>
    public double? WebsocketCloseAfterSeconds { get; set; }
}
