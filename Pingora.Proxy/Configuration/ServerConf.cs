namespace Pingora.Proxy.Configuration;

/// <summary>
/// The top-level server keys, one property each; the YAML key is the property's name in snake_case
/// (<c>GracePeriodSeconds</c> is <c>grace_period_seconds</c>). What each key means, and its default, is described once,
/// in README.md's server key table; ConfigKeyDocumentationTests keeps that table and conf.example.yaml in step with
/// these properties.
/// </summary>
public sealed class ServerConf
{
    // --- Pingora's keys: same names and defaults as Pingora's ServerConf, so a Pingora user's file reads the same ---
    public int Version { get; set; } = 1;
    public bool Daemon { get; set; }
    public string? ErrorLog { get; set; }
    public string PidFile { get; set; } = "/tmp/pingora.pid";
    public string UpgradeSock { get; set; } = "/tmp/pingora_upgrade.sock";
    public string? User { get; set; }
    public string? Group { get; set; }
    public string? WorkingDirectory { get; set; }
    public int Threads { get; set; } = 1;
    public double GracePeriodSeconds { get; set; } = 300;
    public double GracefulShutdownTimeoutSeconds { get; set; } = 5;
    public bool DaemonWaitForReady { get; set; }
    public double DaemonReadyTimeoutSeconds { get; set; } = 600;
    public double DaemonNotifyTimeoutSeconds { get; set; } = 60;

    // --- ours ---
    public string LogLevel { get; set; } = "information";
    public string? StatusPath { get; set; }
    public double CloseTimeoutSeconds { get; set; } = 5;
    public double UpgradeConnectTimeoutSeconds { get; set; } = 5;
    public double UpgradeWaitTimeoutSeconds { get; set; } = 30;
    public double UpgradeAckTimeoutSeconds { get; set; } = 30;
    public string? SessionAffinityKeysDir { get; set; }
    public double DrainIdleTimeoutSeconds { get; set; } = 2;
    /// <summary>The admin listener (/metrics, /status, /ready); null: none. Handed over in an upgrade like the others.</summary>
    public Listeners.ListenAddress? AdminListener { get; set; }
    /// <summary>Also export .NET's per-request instruments (hosting, routing, HttpClient's requests); see Metrics/FrameworkMeters.</summary>
    public bool AdminRequestMeters { get; set; }
    /// <summary>
    /// While draining, how long after the drain begins WebSockets are sent their close frame (1001), so that their
    /// clients reconnect (to the successor) early. Unset: at the deadline, as every other connection.
    /// </summary>
    public double? WebsocketCloseAfterSeconds { get; set; }
    /// <summary>Above 0: destinations with a host name are resolved by DNS and re-resolved every this many seconds.</summary>
    public double DnsRefreshSeconds { get; set; }
    public string? AccessLog { get; set; }
    public string AccessLogFormat { get; set; } = "combined";
    /// <summary>Lines are gathered up to this many bytes and written together (see AccessLog/AccessLogBuffer); 0: one write per line.</summary>
    public int AccessLogBufferBytes { get; set; } = 64 * 1024;
    public double AccessLogFlushSeconds { get; set; } = 1;
}
