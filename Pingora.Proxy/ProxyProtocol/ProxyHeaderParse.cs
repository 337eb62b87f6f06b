namespace Pingora.Proxy.ProxyProtocol;

/// <summary>The outcome of looking at the first bytes of a connection for a PROXY protocol header.</summary>
public abstract record ProxyHeaderParse
{
    private ProxyHeaderParse() { }

    /// <summary>What arrived so far is the start of a valid header; read more.</summary>
    public sealed record NeedMore : ProxyHeaderParse
    {
        public static readonly NeedMore Instance = new();
    }

    /// <summary>A complete header of <paramref name="Length"/> bytes (TLVs included); the connection's data follows.</summary>
    public sealed record Parsed(ProxyHeader Header, int Length) : ProxyHeaderParse;

    /// <summary>Not a valid header, for <paramref name="Reason"/>; the connection must be closed.</summary>
    public sealed record Malformed(string Reason) : ProxyHeaderParse;
}
