using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>Adds PROXY protocol to a Kestrel listener.</summary>
public static class ProxyProtocolListener
{
    /// <summary>Add before UseHttps: the header comes before the TLS handshake, on the raw TCP stream.</summary>
    public static void UseProxyProtocol(this ListenOptions listen, ILoggerFactory loggers, string listenerName)
    {
        // One per listener, for the life of the host: its timer is a few bytes and dies with the process.
        var rejections = new RejectionLog(loggers.CreateLogger("Pingora.Proxy.ProxyProtocol"), listenerName, TimeProvider.System);
        listen.Use(next => new ProxyProtocolMiddleware(next, rejections, ProxyProtocolMiddleware.DefaultHeaderTimeout,
            TimeProvider.System).OnConnectionAsync);
    }
}
