using Pingora.Proxy.Listeners;

namespace Pingora.Proxy.Configuration;

/// <summary>One listening address, with optional TLS. Protocols default to http1 (plain) or http1+http2 (TLS).</summary>
public sealed class ListenerConf
{
    public ListenAddress Address { get; set; } = default!;
    public TlsConf? Tls { get; set; }
    /// <summary>Any of <c>http1</c>, <c>http2</c>; null means the default for the listener's kind.</summary>
    public IReadOnlyList<string>? Protocols { get; set; }
    /// <summary>Every connection starts with a PROXY protocol v1 or v2 header, whose source is the client address.</summary>
    public bool ProxyProtocol { get; set; }
}

public sealed class TlsConf
{
    /// <summary>PEM certificate (chain) file.</summary>
    public string CertificatePath { get; set; } = "";
    /// <summary>PEM private key file.</summary>
    public string KeyPath { get; set; } = "";
}
