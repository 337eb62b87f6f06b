namespace Pingora.Proxy.Configuration;

// The configuration file (YAML). The README copies this block.
//
//   # --- Pingora's server keys (snake_case, same names and defaults as Pingora's ServerConf) ---
//   version: 1                               # optional; if present it must be 1
//   daemon: false                            # run in the background (-d does the same)
//   error_log: /var/log/pingora/error.log    # default: standard error
//   pid_file: /tmp/pingora.pid
//   upgrade_sock: /tmp/pingora_upgrade.sock  # where old and new process meet for a zero-downtime upgrade
//   user: www-data                           # optional: drop privileges to this user/group after binding
//   group: www-data
//   working_directory: /
//   threads: 1                               # at least 1
//   grace_period_seconds: 300                # after an upgrade, how long the old process finishes requests (may be 0)
//   graceful_shutdown_timeout_seconds: 5     # on SIGTERM, how long in-flight requests may take (may be 0)
//   daemon_wait_for_ready: false
//   daemon_ready_timeout_seconds: 600
//   daemon_notify_timeout_seconds: 60
//   # --- ours ---
//   log_level: information                   # verbose, debug, information, warning, error or fatal
//   status_path: /_pingora/status            # optional; answered by the daemon itself; must start with '/'
//   close_timeout_seconds: 5
//   upgrade_connect_timeout_seconds: 5
//   upgrade_wait_timeout_seconds: 30
//   upgrade_ack_timeout_seconds: 30
//   drain_idle_timeout_seconds: 2
//   # Every other *_seconds key must be > 0; durations are seconds and may be fractional.
//
//   listeners:                               # required: at least one, no address twice
//     - address: 0.0.0.0:8080                # IPv4:port, or "[IPv6]:port" (quote it: '[' starts a YAML list)
//     - address: "[::]:8443"
//       tls:                                 # PEM files, checked by loading them
//         certificate_path: /etc/pingora/cert.pem
//         key_path: /etc/pingora/key.pem
//       protocols: [http1, http2]            # default: http1 without TLS, http1 + http2 with TLS; http2 without
//                                            # TLS is h2c
//
//   ReverseProxy:                            # optional: YARP's appsettings.json section, in YAML syntax
//     Routes:
//       api:                                 # the route id is the key
//         ClusterId: backend                 # required, and must name a cluster below
//         Order: 1
//         Match:
//           Path: /api/{**rest}
//           Hosts: [example.com]
//           Methods: [GET, POST]
//           Headers:
//             - { Name: X-Tenant, Values: [a, b], Mode: ExactHeader }
//           QueryParameters:
//             - { Name: v, Values: ["2"], Mode: Exact }
//         Transforms:
//           - PathRemovePrefix: /api
//           - { RequestHeader: X-Forwarded-Prefix, Set: /api }
//         Metadata: { team: payments }
//     Clusters:
//       backend:                             # the cluster id is the key
//         LoadBalancingPolicy: RoundRobin
//         SessionAffinity: { Enabled: true, Policy: Cookie, AffinityKeyName: .affinity }
//         HealthCheck:
//           Active: { Enabled: true, Interval: "00:00:10", Timeout: "00:00:05", Policy: ConsecutiveFailures, Path: /health }
//           Passive: { Enabled: true, Policy: TransportFailureRate, ReactivationPeriod: "00:01:00" }
//         HttpClient: { SslProtocols: [Tls12, Tls13], MaxConnectionsPerServer: 100 }
//         HttpRequest: { Version: "2.0", VersionPolicy: RequestVersionOrLower, ActivityTimeout: "00:01:40" }
//         Destinations:
//           d1: { Address: "http://10.0.0.1:5000/" }
//           d2: { Address: "http://10.0.0.2:5000/", Health: "http://10.0.0.2:5001/" }
//
// Keys match case-insensitively with underscores ignored (grace_period_seconds = GracePeriodSeconds), so a YARP
// section keeps its PascalCase. Durations in the YARP section are TimeSpan text as in appsettings.json
// ("hh:mm:ss" or "d.hh:mm:ss"). An unknown key is a warning. Refused, although YARP would take them:
//   - a route without ClusterId, or naming a cluster that does not exist (YARP would answer 503);
//   - route and cluster ids that differ only in case (YARP compares them case-insensitively);
//   - a destination Address or Health that is not an absolute http(s) URI (YARP fails only when forwarding);
//   - the route keys AuthorizationPolicy, CorsPolicy, RateLimiterPolicy, OutputCachePolicy, TimeoutPolicy and
//     Timeout, whose middleware this daemon does not run.
// Pingora keys that do nothing here (ca_file, work_stealing, upstream_keepalive_pool_size, client_bind_to_ipv4/6,
// upstream_connect_offload_*, upstream_debug_ssl_keylog, listener_tasks_per_fd, max_retries) load with a warning.

/// <summary>
/// Reads and checks a configuration file. A mistake in the file never throws: it becomes a
/// <see cref="ConfigDiagnostic"/> naming file, line, column and key, and all of them are collected in one pass.
/// </summary>
public static class ConfigLoader
{
    public static ConfigLoadResult Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
                                      or NotSupportedException or System.Security.SecurityException)
        {
            return new ConfigLoadResult(null, [new ConfigDiagnostic(path, 0, 0, "-", $"cannot read the configuration file: {e.Message}")], []);
        }
        return Parse(text, path);
    }

    /// <summary>Checks <paramref name="yamlText"/> as the content of the file at <paramref name="path"/> (used in messages).</summary>
    public static ConfigLoadResult Parse(string yamlText, string path)
    {
        YarpValidation.Prepare();
        var diagnostics = new DiagnosticBag(path);
        var root = YamlDocumentReader.Read(yamlText, diagnostics);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        var sourceMap = new SourceMap();
        var config = ConfigDocumentBinder.Bind(root, path, diagnostics, sourceMap);
        ResolveRelativePaths(config, Path.GetDirectoryName(Path.GetFullPath(path))!);
        ConfigValidator.Validate(config, sourceMap, diagnostics);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        NormalizeProtocols(config);
        return new ConfigLoadResult(config, [], diagnostics.Warnings);
    }

    /// <summary>
    /// Relative paths in the file are relative to the file's own directory, so that they mean the same for `-t` in a
    /// shell, a foreground server, a daemon after it changed to working_directory, and a reload.
    /// </summary>
    private static void ResolveRelativePaths(PingoraConfig config, string directory)
    {
        string? Resolve(string? path) => string.IsNullOrWhiteSpace(path) ? path : Path.GetFullPath(path, directory);
        var server = config.Server;
        server.PidFile = Resolve(server.PidFile)!;
        server.UpgradeSock = Resolve(server.UpgradeSock)!;
        server.ErrorLog = Resolve(server.ErrorLog);
        server.WorkingDirectory = Resolve(server.WorkingDirectory);
        server.SessionAffinityKeysDir = Resolve(server.SessionAffinityKeysDir);
        foreach (var tls in config.Listeners.Select(l => l.Tls).OfType<TlsConf>())
        {
            tls.CertificatePath = Resolve(tls.CertificatePath)!;
            tls.KeyPath = Resolve(tls.KeyPath)!;
        }
    }

    /// <summary>Consumers compare protocols against "http1" and "http2" only; the file may say "Http2".</summary>
    private static void NormalizeProtocols(PingoraConfig config)
    {
        foreach (var listener in config.Listeners)
        {
            if (listener.Protocols is { } protocols)
                listener.Protocols = protocols.Select(p => p.ToLowerInvariant()).Distinct().ToArray();
        }
    }
}
