namespace Pingora.Proxy.Tests.Harness;

/// <summary>A bounded wait ran out, or what it awaited can no longer happen. The message says what and shows the
/// process's last lines.</summary>
public sealed class HarnessTimeoutException(string message) : TimeoutException(message);
