namespace Pingora.Proxy.AccessLog;

/// <summary>access_log_format: nginx's combined format with two fields appended, or one JSON object per line.</summary>
public enum AccessLogFormat
{
    Combined,
    Json,
}

public static class AccessLogFormats
{
    public static readonly IReadOnlyList<string> Names = ["combined", "json"];

    public static AccessLogFormat? Parse(string? name) => name?.ToLowerInvariant() switch
    {
        "combined" => AccessLogFormat.Combined,
        "json" => AccessLogFormat.Json,
        _ => null,
    };
}
