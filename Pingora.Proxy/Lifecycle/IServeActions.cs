using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// What the serve loop does to the process, and nothing of when: <see cref="ProcessActions"/> does it for real, the
/// loop's unit tests fake it. Each member enters its own phases on the <see cref="LifecycleState"/>.
/// </summary>
public interface IServeActions
{
    /// <summary>SIGQUIT: hands the listeners to a successor. Ends in HandoffAcknowledged (committed) or HandoffFailed.</summary>
    Task<HandoffOutcome> HandOffAsync(CancellationToken cancel);

    /// <summary>After a commit, while both processes accept: ask keep-alive clients to reconnect (to the successor).</summary>
    void StartHandingOver();

    /// <summary>Re-reads the configuration file and applies what it can. May block on file I/O for as long as the file
    /// system takes, and may throw: the loop runs it on a thread of its own (<see cref="ReloadRunner"/>).</summary>
    void Reload();

    /// <summary>StopAccepting → Drain → Drained, within <paramref name="deadline"/>, or at once when
    /// <paramref name="abort"/> is cancelled (SIGINT). With a cancellable <paramref name="revert"/> (after a handoff)
    /// the listeners are only paused, and cancelling it ends the drain early for <see cref="RevertAsync"/>.</summary>
    Task DrainAsync(string reason, TimeSpan deadline, CancellationToken abort, CancellationToken revert = default);

    /// <summary>The committed successor died before this process exited: accept on every listener again (the host
    /// restarted if its stop had begun), stop asking clients to leave, rewrite the pid file, enter UpgradeReverted.</summary>
    Task RevertAsync(string reason);

    /// <summary>A successor that ends on purpose tells its predecessor, if it still drains, not to take the
    /// listeners back. Does nothing in a process that was not started with <c>-u</c>.</summary>
    Task ReleasePredecessorAsync();

    /// <summary>SIGUSR1: reopens error_log and access_log by path; a failure is logged and the old files stay.</summary>
    void ReopenLogs();

    /// <summary>Removes the pid file if it names this process and logs phase=exit.</summary>
    void Exit(int code);
}
