namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The peer on the upgrade channel said something the protocol does not allow at this point: an unknown or
/// unexpected frame, a frame too large, or fds on a frame that must not carry any. The conversation cannot continue.
/// </summary>
public sealed class UpgradeProtocolException : IOException
{
    public UpgradeProtocolException(string message) : base(message) { }
}
