using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Pingora.Proxy.Limits;

/// <summary>
/// The top-level <c>Kestrel</c> section, shaped as appsettings.json's: <c>Limits</c> binds onto Kestrel's own
/// <see cref="KestrelServerLimits"/>, so its keys are Kestrel's property names, what the file leaves out keeps
/// Kestrel's default, and Kestrel's setters decide what is in range. Listeners stay in <c>listeners</c>.
/// </summary>
public sealed class KestrelConf
{
    public KestrelServerLimits Limits { get; } = new();
}
