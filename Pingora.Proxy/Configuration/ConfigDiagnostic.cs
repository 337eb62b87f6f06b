namespace Pingora.Proxy.Configuration;

/// <summary>
/// One problem found in a configuration file. <see cref="Key"/> is the dotted key path as the user spelled it
/// (<c>ReverseProxy.Routes.r1.ClusterId</c>, <c>listeners[0].address</c>), or <c>-</c> for the file as a whole.
/// Line and column are 1-based; 0 means the problem has no position (the file could not be read).
/// </summary>
public sealed record ConfigDiagnostic(string File, int Line, int Column, string Key, string Message)
{
    /// <summary>The compiler-style form editors and terminals recognise: <c>file:line:col: key: message</c>.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Key}: {Message}";
}
