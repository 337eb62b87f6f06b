using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// The named steps of a process's life. Each is logged once as <c>phase=name ...</c>, with pids and timings, so that
/// an operator can follow a start, a reload or an upgrade from the error log alone (and tests can await them).
/// </summary>
public enum Phase
{
    Configure,
    UpgradeWait, UpgradeReceived,
    Listen, Serving, UpgradeCommitted,
    Reload,
    HandoffConnected, HandoffSent, HandoffAcknowledged, HandoffFailed,
    StopAccepting, Drain, Drained, Exit,
}

public sealed class PhaseLog(Serilog.ILogger log)
{
    public Serilog.ILogger Log { get; } = log;

    public void Enter(Phase phase, string template = "", params object?[] values) =>
        Log.Information($"phase={Name(phase)} {template}", values);

    public void Failed(Phase phase, string template, params object?[] values) =>
        Log.Error($"phase={Name(phase)} {template}", values);

    /// <summary>HandoffFailed becomes "handoff-failed".</summary>
    public static string Name(Phase phase) => KeyNames.ToSnakeCase(phase.ToString()).Replace('_', '-');
}
