namespace Pingora.Proxy.Upgrade;

/// <summary>
/// What a predecessor tells its successor about the line of processes before it, so that counters which restart with
/// each process still show the lineage's history: the successor is generation <see cref="Generation"/> + 1 and starts
/// its upgrade counts from these.
/// </summary>
/// <param name="Generation">1 for a process started without -u, one more for each upgrade since.</param>
/// <param name="UpgradesCommitted">Committed upgrades before the one in progress.</param>
/// <param name="UpgradesFailed">Upgrades that ended before a commit (the process went on serving).</param>
public sealed record HandoffLineage(uint Generation, uint UpgradesCommitted, uint UpgradesFailed)
{
    /// <summary>A process started without -u, or whose predecessor sent no lineage (handoff format version 1).</summary>
    public static readonly HandoffLineage First = new(1, 0, 0);

    public override string ToString() => $"generation {Generation}, {UpgradesCommitted} upgrades committed, {UpgradesFailed} failed";
}
