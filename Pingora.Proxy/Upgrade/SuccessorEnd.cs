namespace Pingora.Proxy.Upgrade;

/// <summary>How a committed successor's watch by its predecessor ended.</summary>
public abstract record SuccessorEnd
{
    private SuccessorEnd() { }

    /// <summary>The successor ends on purpose (SIGTERM, SIGINT, or it handed over in turn): nothing to take back.</summary>
    public sealed record Released : SuccessorEnd;

    /// <summary>The upgrade connection closed without a release: the successor died (killed, crashed).</summary>
    public sealed record Died : SuccessorEnd;

    /// <summary>The watch could not go on (a timeout past this process's own end, a broken stream); no revert.</summary>
    public sealed record Unwatched(string Why) : SuccessorEnd;
}
