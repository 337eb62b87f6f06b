namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// Where a process is in its life: the one state that the log (<c>phase=name ...</c>, once per step), <c>/status</c>
/// and the serve loop's decisions all read (see <see cref="LifecycleState"/>). A start runs
/// Configure → [UpgradeWait → UpgradeReceived] → Listen → Serving → [UpgradeCommitted]; an upgrade of this process
/// HandoffStarted → HandoffConnected → HandoffSent → HandoffAcknowledged (or HandoffFailed, back to Serving), and
/// UpgradeReverted back to Serving if the successor dies before this process exits; an end StopAccepting → Drain →
/// Drained → Exit. Reload, HandoffFailed, UpgradeReverted and UpgradeCommitted are steps that leave the process
/// serving (<see cref="PhaseNames.After"/>).
/// </summary>
public enum Phase
{
    /// <summary>The configuration file is read and valid; nothing is bound yet.</summary>
    Configure,
    /// <summary>A successor (<c>-u</c>) listens on upgrade_sock for the running instance.</summary>
    UpgradeWait,
    /// <summary>A successor holds its predecessor's listening sockets; it has not started serving.</summary>
    UpgradeReceived,
    /// <summary>Every listener is bound or inherited; the host is starting.</summary>
    Listen,
    /// <summary>Accepting and proxying on every listener, and acting on signals. A successor is here from the moment it
    /// reports Ready, before its predecessor commits.</summary>
    Serving,
    /// <summary>A successor's predecessor committed the upgrade: this process is the one, and the pid file names it.</summary>
    UpgradeCommitted,
    /// <summary>SIGHUP: routes and clusters re-read and applied, or rejected with the running ones kept.</summary>
    Reload,
    /// <summary>SIGQUIT: this process looks for a successor on upgrade_sock; it keeps serving meanwhile.</summary>
    HandoffStarted,
    /// <summary>Connected to a trusted successor.</summary>
    HandoffConnected,
    /// <summary>Every listening socket is sent; waiting for the successor to report that it serves.</summary>
    HandoffSent,
    /// <summary>The successor serves and the upgrade is committed: both accept for close_timeout, then this one drains.</summary>
    HandoffAcknowledged,
    /// <summary>The handoff ended before a commit; this process serves as before and a later SIGQUIT may try again.</summary>
    HandoffFailed,
    /// <summary>The successor died after the commit, before this process had exited: it accepts on every listener
    /// again, the pid file names it, and it serves as if the upgrade had never happened.</summary>
    UpgradeReverted,
    /// <summary>This process's listening descriptors are closed (after a handoff the successor still holds them).</summary>
    StopAccepting,
    /// <summary>Open connections get until the deadline to finish; Kestrel's graceful stop runs.</summary>
    Drain,
    /// <summary>The last connection is gone, or what was left is cut at the deadline.</summary>
    Drained,
    /// <summary>The process exits with the logged code.</summary>
    Exit,
}
