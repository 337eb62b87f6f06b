using System.Text.Json.Serialization;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>The daemon's status endpoint body; the contract guarantees at least these fields.</summary>
public sealed record DaemonStatus(
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("state")] string? State);
