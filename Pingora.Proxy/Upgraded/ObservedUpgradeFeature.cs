using Microsoft.AspNetCore.Http.Features;

namespace Pingora.Proxy.Upgraded;

/// <summary>
/// Kestrel's HTTP/1.1 upgrade, with the client stream passed through <paramref name="upgraded"/> on its way to YARP,
/// so that the stream YARP copies is one this process can close cleanly.
/// </summary>
public sealed class ObservedUpgradeFeature(IHttpUpgradeFeature inner, Func<Stream, Stream> upgraded) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync() => upgraded(await inner.UpgradeAsync());
}

/// <summary>The same for an HTTP/2 extended CONNECT (RFC 8441: WebSockets over HTTP/2).</summary>
public sealed class ObservedExtendedConnectFeature(IHttpExtendedConnectFeature inner, Func<Stream, Stream> accepted) : IHttpExtendedConnectFeature
{
    public bool IsExtendedConnect => inner.IsExtendedConnect;
    public string? Protocol => inner.Protocol;

    public async ValueTask<Stream> AcceptAsync() => accepted(await inner.AcceptAsync());
}
