using System.Net;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// What a PROXY protocol header said about the connection. <see cref="Source"/> and <see cref="Destination"/> are
/// null when the header carries no usable address (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or UNIX families): the socket's
/// own endpoints then stand, as the specification requires.
/// </summary>
/// <param name="Version">1 (text) or 2 (binary).</param>
/// <param name="Local">v2's LOCAL command: the proxy's own connection (a health check), not a relayed client.</param>
public sealed record ProxyHeader(int Version, bool Local, IPEndPoint? Source, IPEndPoint? Destination);
