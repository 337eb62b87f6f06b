namespace Pingora.Proxy.Upgrade;

/// <summary>An upgrade that cannot go on; the message is meant for the operator, as is.</summary>
public sealed class UpgradeException(string message) : Exception(message);
