using System.Net;

namespace Pingora.Proxy.Listeners;

/// <summary>The endpoint Kestrel is told to listen on; it carries the registry's socket to our transport.</summary>
public sealed class RegistryEndPoint(ListenerSocket listener) : EndPoint
{
    public ListenerSocket Listener { get; } = listener;

    // Kestrel prints this in its own messages and builds URLs from it, so no scheme here.
    public override string ToString() => Listener.Address.ToString();
}
