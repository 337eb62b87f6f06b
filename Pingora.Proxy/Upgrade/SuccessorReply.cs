namespace Pingora.Proxy.Upgrade;

/// <summary>
/// What the predecessor learned after handing its listeners over: whether the successor serves on all of them.
/// Only <see cref="Ready"/> lets the predecessor commit; every other outcome means it keeps serving and the successor
/// must not take over.
/// </summary>
public abstract record SuccessorReply
{
    private SuccessorReply() { }

    /// <summary>The successor accepts on every listener it was given.</summary>
    public sealed record Ready : SuccessorReply;

    /// <summary>The successor could not take over, for the reason it gives.</summary>
    public sealed record Failed(string Reason) : SuccessorReply;

    /// <summary>The successor closed the connection (or died) without replying.</summary>
    public sealed record PeerClosed : SuccessorReply;

    /// <summary>No complete reply arrived in time; the connection was open all along.</summary>
    public sealed record TimedOut : SuccessorReply;
}
