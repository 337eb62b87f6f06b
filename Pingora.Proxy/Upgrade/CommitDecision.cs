namespace Pingora.Proxy.Upgrade;

/// <summary>
/// What the successor learned after reporting Ready: whether the predecessor let go. Only <see cref="Committed"/>
/// makes the successor the one serving process; on <see cref="Aborted"/> it must stop and exit, because the
/// predecessor is still accepting on the same listeners.
/// </summary>
public abstract record CommitDecision
{
    private CommitDecision() { }

    /// <summary>The predecessor stops accepting and drains; the successor now owns the listeners.</summary>
    public sealed record Committed : CommitDecision;

    /// <summary>The predecessor gave up on this upgrade.</summary>
    public sealed record Aborted(AbortCause Cause) : CommitDecision;
}

/// <summary>How a successor learned that the upgrade was abandoned.</summary>
public enum AbortCause
{
    /// <summary>The predecessor closed the connection instead of committing: its way of saying "abort".</summary>
    PeerClosed,

    /// <summary>Neither a commit nor a close arrived in time.</summary>
    TimedOut,
}
