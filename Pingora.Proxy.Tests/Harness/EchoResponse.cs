using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>What the test backend's /echo endpoint saw, as it reports it in the response body.</summary>
public sealed record EchoResponse(
    [property: JsonPropertyName("backend")] string Backend,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("headers")] Dictionary<string, string> Headers)
{
    /// <summary>A request header as the backend received it (header names compare case-insensitively).</summary>
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static EchoResponse Parse(string json) =>
        JsonSerializer.Deserialize<EchoResponse>(json)
        ?? throw new FormatException($"echo body is not an echo response: {json}");
}
