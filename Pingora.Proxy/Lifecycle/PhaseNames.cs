using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Lifecycle;

/// <summary>What each <see cref="Phase"/> means to the outside: its log name, its <c>/status</c> state, where it leaves
/// the process, and what the serve loop may start from it.</summary>
public static class PhaseNames
{
    /// <summary>HandoffFailed becomes "handoff-failed", as in <c>phase=handoff-failed</c>.</summary>
    public static string LogName(this Phase phase) => KeyNames.ToSnakeCase(phase.ToString()).Replace('_', '-');

    /// <summary>The <c>state</c> field of <c>/status</c>: coarse on purpose, so a health check matches one word.</summary>
    public static string StatusName(this Phase phase) => phase switch
    {
        < Phase.Serving => "starting",
        Phase.HandoffAcknowledged => "handing over",
        Phase.StopAccepting or Phase.Drain or Phase.Drained => "draining",
        Phase.Exit => "exiting",
        _ => "serving",
    };

    /// <summary>
    /// The phase a process is in once <paramref name="entered"/> is logged. A step that leaves the process serving
    /// does not become its state: after "reload" it is wherever it was, after "handoff-failed",
    /// "upgrade-reverted" and "upgrade-committed" it serves, so that observers see one steady "serving" however the
    /// process got there.
    /// </summary>
    public static Phase After(this Phase entered, Phase current) => entered switch
    {
        Phase.Reload => current,
        Phase.HandoffFailed or Phase.UpgradeCommitted or Phase.UpgradeReverted => Phase.Serving,
        _ => entered,
    };

    /// <summary>Between SIGQUIT and the handoff's outcome.</summary>
    public static bool IsHandoffInProgress(this Phase phase) => phase is >= Phase.HandoffStarted and <= Phase.HandoffSent;

    /// <summary>SIGHUP applies routes while the process serves, a handoff in progress included (it may fail).</summary>
    public static bool AcceptsReload(this Phase phase) => phase is Phase.Serving || phase.IsHandoffInProgress();
}
