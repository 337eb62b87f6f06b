using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// This process's place in its lineage: its generation, the upgrades committed and failed along the line (its own
/// included) and the last one's outcome. Counted from the lifecycle's steps; a successor starts from what its
/// predecessor sent (<see cref="Inherit"/>), so the history outlives each process. /status and the metrics read it.
/// </summary>
public sealed class UpgradeHistory
{
    private HandoffLineage _lineage = HandoffLineage.First;   // replaced whole, under the lifecycle's lock or before serving

    public UpgradeHistory(LifecycleState lifecycle) => lifecycle.Entered += Count;

    public uint Generation => _lineage.Generation;
    public uint Committed => _lineage.UpgradesCommitted;
    public uint Failed => _lineage.UpgradesFailed;

    /// <summary>"committed" or "failed", the outcome of this process's last upgrade step; null when there was none.</summary>
    public string? LastOutcome { get; private set; }

    /// <summary>What the next successor is told: this process's generation and counts so far.</summary>
    public HandoffLineage Lineage => _lineage;

    /// <summary>A successor, on receiving its predecessor's sockets: one generation more; the upgrade under way counts at its commit.</summary>
    public void Inherit(HandoffLineage predecessor) =>
        _lineage = predecessor with { Generation = predecessor.Generation + 1 };

    private void Count(Phase phase)
    {
        switch (phase)
        {
            // The same upgrade counts once in each process: the predecessor at its acknowledgement, the successor at its commit.
            case Phase.HandoffAcknowledged:
            case Phase.UpgradeCommitted:
                _lineage = _lineage with { UpgradesCommitted = _lineage.UpgradesCommitted + 1 };
                LastOutcome = "committed";
                break;
            case Phase.HandoffFailed:
                _lineage = _lineage with { UpgradesFailed = _lineage.UpgradesFailed + 1 };
                LastOutcome = "failed";
                break;
        }
    }
}
