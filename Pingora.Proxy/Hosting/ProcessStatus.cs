using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Hosting;

/// <summary>What the status endpoint reports about this process; its state is the lifecycle's current phase.</summary>
public sealed class ProcessStatus(LifecycleState lifecycle)
{
    public static readonly string Version =
        typeof(ProcessStatus).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly long _startedAt = Environment.TickCount64;

    public int Pid { get; } = Environment.ProcessId;
    public LifecycleState Lifecycle { get; } = lifecycle;
    /// <summary>Generation and upgrade counts, carried from predecessor to successor.</summary>
    public UpgradeHistory Upgrades { get; } = new(lifecycle);
    /// <summary>"starting", "serving", "handing over", "draining" (see <see cref="PhaseNames.StatusName"/>).</summary>
    public string State => Lifecycle.Current.StatusName();
    public double UptimeSeconds => (Environment.TickCount64 - _startedAt) / 1000.0;
}
