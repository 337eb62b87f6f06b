using System.Globalization;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Builds a daemon configuration file. This is the one place in the tests that knows the file's schema: server keys
/// in snake_case, <c>listeners</c>, and YARP's <c>ReverseProxy</c> section. Defaults are short timeouts and paths
/// inside the test's own directory, never the production defaults or /tmp.
/// Negative tests bend the output through <see cref="RawServerValues"/>, <see cref="ExtraTopLevelLines"/> and the
/// raw fields of the specs, then locate the offending line with <see cref="LineOf"/>.
/// </summary>
public sealed class TestConfig
{
    public TestConfig(string directory, string fileName = "pingora.yaml")
    {
        Directory = directory;
        Path = System.IO.Path.Combine(directory, fileName);
        PidFile = System.IO.Path.Combine(directory, "pingora.pid");
        UpgradeSock = System.IO.Path.Combine(directory, "upgrade.sock");
    }

    public string Directory { get; }

    /// <summary>Where <see cref="Write"/> puts the file, and what -c is given.</summary>
    public string Path { get; set; }

    public string PidFile { get; set; }
    public string UpgradeSock { get; set; }
    /// <summary>When set the daemon logs to this file instead of stderr.</summary>
    public string? ErrorLog { get; set; }
    public string? StatusPath { get; set; } = "/status";
    /// <summary>access_log and access_log_format; null leaves them out (off, combined).</summary>
    public string? AccessLog { get; set; }
    public string? AccessLogFormat { get; set; }
    /// <summary>With access_log: how often gathered lines are written (the default 1 s would make each test wait).</summary>
    public double AccessLogFlushSeconds { get; set; } = 0.1;
    /// <summary>access_log_buffer_bytes; null leaves it out (the default, 64 KiB).</summary>
    public int? AccessLogBufferBytes { get; set; }
    public string LogLevel { get; set; } = "information";

    public double GracePeriodSeconds { get; set; } = 10;
    public double GracefulShutdownTimeoutSeconds { get; set; } = 10;
    public double CloseTimeoutSeconds { get; set; } = 1;
    public double UpgradeConnectTimeoutSeconds { get; set; } = 10;
    public double UpgradeWaitTimeoutSeconds { get; set; } = 20;
    public double UpgradeAckTimeoutSeconds { get; set; } = 5;
    public double DrainIdleTimeoutSeconds { get; set; } = 1;

    /// <summary>Daemon keys; null leaves a key out (the daemon's default).</summary>
    public bool? DaemonWaitForReady { get; set; }
    public double? DaemonReadyTimeoutSeconds { get; set; }
    public double? DaemonNotifyTimeoutSeconds { get; set; }
    public string? User { get; set; }
    public string? Group { get; set; }
    public string? WorkingDirectory { get; set; }
    /// <summary>The admin listener's port on 127.0.0.1 (<c>admin_listener</c>); null: none.</summary>
    public int? AdminPort { get; set; }
    public Uri AdminUrl(string path) => new($"http://127.0.0.1:{AdminPort ?? throw new InvalidOperationException("no admin listener")}{path}");

    /// <summary>Gives the config an admin listener on a free port.</summary>
    public TestConfig WithAdminListener()
    {
        AdminPort = FreePort.Next();
        return this;
    }
    public double? WebsocketCloseAfterSeconds { get; set; }
    /// <summary><c>admin_request_meters</c>: also export .NET's per-request meters; null: the default (off).</summary>
    public bool? AdminRequestMeters { get; set; }

    public List<ListenerSpec> Listeners { get; } = [];
    public List<RouteSpec> Routes { get; } = [];
    public List<ClusterSpec> Clusters { get; } = [];

    /// <summary>Replaces the rendered value of a top-level server key with raw YAML text (wrong types, syntax).</summary>
    public Dictionary<string, string> RawServerValues { get; } = new(StringComparer.Ordinal);

    /// <summary>Raw YAML lines inserted after the server keys, before <c>listeners</c> (unknown keys).</summary>
    public List<string> ExtraTopLevelLines { get; } = [];

    public ListenerSpec AddListener(TestCertificate? tls = null, IReadOnlyList<string>? protocols = null)
    {
        var listener = new ListenerSpec(FreePort.Next(), tls, protocols);
        Listeners.Add(listener);
        return listener;
    }

    public RouteSpec AddRoute(string id, string clusterId, string path, params string[] hosts)
    {
        var route = new RouteSpec(id, clusterId) { Path = path, Hosts = hosts.Length == 0 ? null : hosts };
        Routes.Add(route);
        return route;
    }

    /// <summary>A cluster whose destinations are d1, d2, ... in the order given.</summary>
    public ClusterSpec AddCluster(string id, params TestBackend[] destinations) =>
        AddCluster(id, destinations.Select(d => d.Address).ToArray());

    public ClusterSpec AddCluster(string id, params string[] destinationAddresses)
    {
        var cluster = new ClusterSpec(id);
        for (var i = 0; i < destinationAddresses.Length; i++)
            cluster.Destinations.Add(($"d{i + 1}", destinationAddresses[i]));
        Clusters.Add(cluster);
        return cluster;
    }

    public ClusterSpec Cluster(string id) => Clusters.Single(c => c.Id == id);
    public RouteSpec Route(string id) => Routes.First(r => r.Id == id);

    public string Render()
    {
        var y = new StringBuilder();
        y.Append("# written by the end-to-end tests\n");
        Server(y, "version", "1");
        Server(y, "pid_file", Quote(PidFile));
        Server(y, "upgrade_sock", Quote(UpgradeSock));
        if (ErrorLog is not null) Server(y, "error_log", Quote(ErrorLog));
        if (StatusPath is not null) Server(y, "status_path", Quote(StatusPath));
        if (AccessLog is not null) Server(y, "access_log", Quote(AccessLog));
        if (AccessLogFormat is not null) Server(y, "access_log_format", AccessLogFormat);
        if (AccessLog is not null) Server(y, "access_log_flush_seconds", Number(AccessLogFlushSeconds));
        if (AccessLogBufferBytes is { } bufferBytes) Server(y, "access_log_buffer_bytes", bufferBytes.ToString(CultureInfo.InvariantCulture));
        Server(y, "log_level", LogLevel);
        Server(y, "grace_period_seconds", Number(GracePeriodSeconds));
        Server(y, "graceful_shutdown_timeout_seconds", Number(GracefulShutdownTimeoutSeconds));
        Server(y, "close_timeout_seconds", Number(CloseTimeoutSeconds));
        Server(y, "upgrade_connect_timeout_seconds", Number(UpgradeConnectTimeoutSeconds));
        Server(y, "upgrade_wait_timeout_seconds", Number(UpgradeWaitTimeoutSeconds));
        Server(y, "upgrade_ack_timeout_seconds", Number(UpgradeAckTimeoutSeconds));
        Server(y, "drain_idle_timeout_seconds", Number(DrainIdleTimeoutSeconds));
        foreach (var (key, value) in OptionalServerValues()) Server(y, key, value);
        foreach (var (key, value) in RawServerValues.Where(kv => !IsRenderedServerKey(kv.Key)))
            y.Append(key).Append(": ").Append(value).Append('\n');
        foreach (var line in ExtraTopLevelLines) y.Append(line).Append('\n');

        y.Append("listeners:\n");
        foreach (var l in Listeners)
        {
            y.Append("  - address: ").Append(l.RawAddress ?? Quote(l.Address)).Append('\n');
            if (l.Tls is not null)
            {
                y.Append("    tls:\n");
                y.Append("      certificate_path: ").Append(Quote(l.Tls.CertificatePath)).Append('\n');
                y.Append("      key_path: ").Append(Quote(l.Tls.KeyPath)).Append('\n');
            }
            if (l.Protocols is not null)
                y.Append("    protocols: [").Append(string.Join(", ", l.Protocols)).Append("]\n");
            if (l.ProxyProtocol) y.Append("    proxy_protocol: true\n");
        }

        y.Append("ReverseProxy:\n");
        y.Append("  Routes:\n");
        foreach (var r in Routes)
        {
            y.Append("    ").Append(r.Id).Append(":\n");
            y.Append("      ClusterId: ").Append(r.ClusterId).Append('\n');
            if (r.MaxRequestBodySize is { } limit)
                y.Append("      MaxRequestBodySize: ").Append(limit.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (r.RawOrder is not null) y.Append("      Order: ").Append(r.RawOrder).Append('\n');
            else if (r.Order is not null) y.Append("      Order: ").Append(r.Order.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            foreach (var line in r.ExtraLines) y.Append("      ").Append(line).Append('\n');
            y.Append("      Match:\n");
            if (r.Path is not null) y.Append("        Path: ").Append(Quote(r.Path)).Append('\n');
            if (r.Hosts is not null)
                y.Append("        Hosts: [").Append(string.Join(", ", r.Hosts.Select(Quote))).Append("]\n");
            if (r.Transforms.Count > 0)
            {
                y.Append("      Transforms:\n");
                foreach (var transform in r.Transforms)
                {
                    for (var i = 0; i < transform.Length; i++)
                    {
                        y.Append(i == 0 ? "        - " : "          ")
                            .Append(transform[i].Key).Append(": ").Append(Quote(transform[i].Value)).Append('\n');
                    }
                }
            }
        }

        y.Append("  Clusters:\n");
        foreach (var c in Clusters)
        {
            y.Append("    ").Append(c.Id).Append(":\n");
            if (c.LoadBalancingPolicy is not null)
                y.Append("      LoadBalancingPolicy: ").Append(c.LoadBalancingPolicy).Append('\n');
            if (c.SessionAffinityPolicy is not null)
            {
                y.Append("      SessionAffinity:\n");
                y.Append("        Enabled: true\n");
                y.Append("        Policy: ").Append(c.SessionAffinityPolicy).Append('\n');
                y.Append("        AffinityKeyName: \".Pingora.Affinity\"\n");
            }
            if (c.PassiveHealthCheck)
                y.Append("      HealthCheck:\n        Passive:\n          Enabled: true\n          Policy: TransportFailureRate\n");
            y.Append("      Destinations:\n");
            foreach (var (id, address) in c.Destinations)
            {
                y.Append("        ").Append(id).Append(":\n");
                y.Append("          Address: ").Append(Quote(address)).Append('\n');
            }
        }
        return y.ToString();
    }

    /// <summary>Writes the rendered file to <see cref="Path"/> (replacing it atomically, as an operator's editor
    /// would, so a reload never reads half a file) and returns the path.</summary>
    public string Write()
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temp = Path + ".tmp";
        File.WriteAllText(temp, Render());
        File.Move(temp, Path, overwrite: true);
        return Path;
    }

    /// <summary>1-based line number of the <paramref name="occurrence"/>-th line containing <paramref name="text"/>
    /// in the rendered file. Negative tests use it to know which line the daemon must blame.</summary>
    public int LineOf(string text, int occurrence = 1)
    {
        var lines = Render().Split('\n');
        var seen = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(text, StringComparison.Ordinal) && ++seen == occurrence) return i + 1;
        }
        throw new ArgumentException($"the rendered config has no occurrence {occurrence} of '{text}':\n{Render()}");
    }

    private void Server(StringBuilder y, string key, string value) =>
        y.Append(key).Append(": ").Append(RawServerValues.TryGetValue(key, out var raw) ? raw : value).Append('\n');

    /// <summary>The server keys rendered only when their property is set.</summary>
    private IEnumerable<(string Key, string Value)> OptionalServerValues()
    {
        if (DaemonWaitForReady is { } wait) yield return ("daemon_wait_for_ready", wait ? "true" : "false");
        if (DaemonReadyTimeoutSeconds is { } ready) yield return ("daemon_ready_timeout_seconds", Number(ready));
        if (DaemonNotifyTimeoutSeconds is { } notify) yield return ("daemon_notify_timeout_seconds", Number(notify));
        if (User is not null) yield return ("user", Quote(User));
        if (Group is not null) yield return ("group", Quote(Group));
        if (WorkingDirectory is not null) yield return ("working_directory", Quote(WorkingDirectory));
        if (AdminPort is { } admin) yield return ("admin_listener", Quote($"127.0.0.1:{admin}"));
        if (WebsocketCloseAfterSeconds is { } webSockets) yield return ("websocket_close_after_seconds", Number(webSockets));
        if (AdminRequestMeters is { } requestMeters) yield return ("admin_request_meters", requestMeters ? "true" : "false");
    }

    private bool IsRenderedServerKey(string key) => OptionalServerValues().Any(v => v.Key == key) || key is "version" or "pid_file" or "upgrade_sock" or
        "error_log" or "status_path" or "access_log" or "access_log_format" or "access_log_flush_seconds" or "access_log_buffer_bytes" or "log_level" or "grace_period_seconds" or "graceful_shutdown_timeout_seconds" or
        "close_timeout_seconds" or "upgrade_connect_timeout_seconds" or "upgrade_wait_timeout_seconds" or
        "upgrade_ack_timeout_seconds" or "drain_idle_timeout_seconds";

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A YAML double-quoted scalar: paths and patterns like /{**rest} must not be read as YAML syntax.</summary>
    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <summary>One listener on 127.0.0.1.</summary>
public sealed class ListenerSpec(int port, TestCertificate? tls, IReadOnlyList<string>? protocols)
{
    public int Port { get; } = port;
    public TestCertificate? Tls { get; } = tls;
    /// <summary>Null means the daemon's default for the listener kind.</summary>
    public IReadOnlyList<string>? Protocols { get; } = protocols;
    /// <summary>Raw YAML for the address value instead of the quoted 127.0.0.1:PORT (negative tests).</summary>
    public string? RawAddress { get; set; }
    /// <summary>Renders <c>proxy_protocol: true</c>: every connection must start with a PROXY header.</summary>
    public bool ProxyProtocol { get; set; }

    public string Address => $"127.0.0.1:{Port}";
    public Uri BaseUri => new($"{(Tls is null ? "http" : "https")}://127.0.0.1:{Port}");
    public Uri Url(string pathAndQuery) => new(BaseUri, pathAndQuery);
}

/// <summary>A YARP route, rendered under ReverseProxy.Routes.ID.</summary>
public sealed class RouteSpec(string id, string clusterId)
{
    public string Id { get; } = id;
    public string ClusterId { get; set; } = clusterId;
    public string? Path { get; set; }
    public IReadOnlyList<string>? Hosts { get; set; }
    public int? Order { get; set; }
    /// <summary>Raw YAML for Order (a wrong type in a negative test); wins over <see cref="Order"/>.</summary>
    public string? RawOrder { get; set; }
    /// <summary>YARP's per-route request body limit in bytes; -1 lifts Kestrel's default (30 MB).</summary>
    public long? MaxRequestBodySize { get; set; }
    /// <summary>Raw YAML lines inside the route, before Match (policy keys: <c>RateLimiterPolicy: per-client</c>).</summary>
    public List<string> ExtraLines { get; } = [];
    /// <summary>Each transform is one YAML mapping, e.g. [("RequestHeader","X-Foo"), ("Set","bar")].</summary>
    public List<KeyValuePair<string, string>[]> Transforms { get; } = [];

    public RouteSpec Transform(params (string Key, string Value)[] pairs)
    {
        Transforms.Add(pairs.Select(p => KeyValuePair.Create(p.Key, p.Value)).ToArray());
        return this;
    }
}

/// <summary>A YARP cluster, rendered under ReverseProxy.Clusters.ID.</summary>
public sealed class ClusterSpec(string id)
{
    public string Id { get; } = id;
    public string? LoadBalancingPolicy { get; set; }
    /// <summary>When set, session affinity is enabled with this policy, keyed by <c>.Pingora.Affinity</c>.</summary>
    public string? SessionAffinityPolicy { get; set; }
    /// <summary>When set, YARP's passive health checks (TransportFailureRate) watch the destinations.</summary>
    public bool PassiveHealthCheck { get; set; }
    public List<(string Id, string Address)> Destinations { get; } = [];
}
