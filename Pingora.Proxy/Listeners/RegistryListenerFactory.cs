using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Pingora.Proxy.Descriptors;

namespace Pingora.Proxy.Listeners;

/// <summary>
/// Kestrel's transport for <see cref="RegistryEndPoint"/>s. Registered after Kestrel's socket transport; the selector
/// interface makes Kestrel pick it for our endpoints only.
/// </summary>
public sealed class RegistryListenerFactory(ILoggerFactory loggers, AcceptGate gate) : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly SocketConnectionContextFactory _connections =
        new(new SocketConnectionFactoryOptions(), loggers.CreateLogger("Pingora.Proxy.Listeners"));
    private readonly ILogger _log = loggers.CreateLogger<RegistryListenerFactory>();

    public bool CanBind(EndPoint endpoint) => endpoint is RegistryEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not RegistryEndPoint ours)
            throw new NotSupportedException($"{endpoint} is not a registry endpoint");
        return ValueTask.FromResult<IConnectionListener>(new RegistryConnectionListener(ours, _connections, gate, _log));
    }

    public void Dispose() => _connections.Dispose();
}
