using System.Diagnostics;
using Pingora.Proxy.Drain;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Upgrade;
using Prometheus;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// The process's life as metrics, driven by the one lifecycle state: upgrades (the lineage's counts, so a successor
/// shows the upgrade that started it), handoff durations, reloads, the state and the generation.
/// <c>process_start_time_seconds</c> is prometheus-net's own.
/// </summary>
public sealed class LifecycleMetrics
{
    private static readonly string[] States = ["starting", "serving", "handing over", "draining", "exiting"];

    private readonly Counter _upgrades;
    private readonly Histogram _handoffDuration;
    private readonly Counter _reloads;
    private readonly Gauge _lastReload;
    private readonly Gauge _state;
    private readonly Gauge _generation;
    private readonly LifecycleState _lifecycle;
    private readonly UpgradeHistory _history;
    private readonly ConnectionTracker _connections;
    private readonly ProxyMetrics _proxy;
    private long _handoffStarted;

    public LifecycleMetrics(ProxyMetrics proxy, LifecycleState lifecycle, UpgradeHistory history, ConnectionTracker connections, TimeProvider time)
    {
        _proxy = proxy;
        _lifecycle = lifecycle;
        _history = history;
        _connections = connections;
        var f = Prometheus.Metrics.WithCustomRegistry(proxy.Registry);
        _upgrades = f.CreateCounter("pingora_upgrades_total",
            "Upgrades along this process's lineage by outcome (committed, failed); carried from predecessor to successor.", ["outcome"]);
        _handoffDuration = f.CreateHistogram("pingora_handoff_duration_seconds",
            "From SIGQUIT to the handoff's outcome, in the process that hands over, by outcome.", ["outcome"],
            new HistogramConfiguration { Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _reloads = f.CreateCounter("pingora_config_reloads_total", "SIGHUP reloads by result (ok, rejected).", ["result"]);
        _lastReload = f.CreateGauge("pingora_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully (at the start, then by each reload), in Unix seconds.");
        _state = f.CreateGauge("pingora_state", "1 for the state this process is in (as /status names it), 0 for the others.", ["state"]);
        _generation = f.CreateGauge("pingora_generation", "1 for a process started without -u, one more for each upgrade since.");

        foreach (var outcome in new[] { "committed", "failed" }) _upgrades.WithLabels(outcome);
        foreach (var result in new[] { "ok", "rejected" }) _reloads.WithLabels(result);
        _lastReload.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        _time = time;
        lifecycle.Stepped += OnStep;
        proxy.Registry.AddBeforeCollectCallback(Update);
    }

    private readonly TimeProvider _time;

    private void OnStep(Phase phase, bool failed)
    {
        switch (phase)
        {
            case Phase.HandoffStarted:
                _handoffStarted = Stopwatch.GetTimestamp();
                break;
            case Phase.HandoffAcknowledged or Phase.HandoffFailed when _handoffStarted != 0:
                _handoffDuration.WithLabels(phase == Phase.HandoffAcknowledged ? "committed" : "failed")
                    .Observe(Stopwatch.GetElapsedTime(_handoffStarted).TotalSeconds);
                _handoffStarted = 0;
                break;
            case Phase.Reload:
                _reloads.WithLabels(failed ? "rejected" : "ok").Inc();
                if (!failed) _lastReload.Set(_time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
                break;
        }
    }

    /// <summary>Before each scrape: values that are state, not events.</summary>
    private void Update()
    {
        _upgrades.WithLabels("committed").IncTo(_history.Committed);
        _upgrades.WithLabels("failed").IncTo(_history.Failed);
        _generation.Set(_history.Generation);
        var current = _lifecycle.Current.StatusName();
        foreach (var state in States) _state.WithLabels(state).Set(state == current ? 1 : 0);
        _proxy.DrainingConnections.Set(_connections.Draining ? _connections.Active : 0);
    }
}
