using System.Buffers;
using System.Text.Json;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// One JSON object per line, with the field names README.md documents (they are a contract with whoever ships the
/// log: rename none). A missing value is null, never an absent field, so every line has the same fields.
/// </summary>
public static class JsonFormatter
{
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public static void Format(in AccessLogEntry e, IBufferWriter<byte> output)
    {
        var json = t_writer ??= new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("time", e.Time);
        if (e.ClientAddress is { } address)
        {
            Span<char> text = stackalloc char[64];
            (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).TryFormat(text, out var length);
            json.WriteString("client_address", text[..length]);
            json.WriteNumber("client_port", e.ClientPort);
        }
        else
        {
            json.WriteNull("client_address");
            json.WriteNull("client_port");
        }
        json.WriteString("method", e.Method);
        var query = e.Target.IndexOf('?');
        json.WriteString("path", query < 0 ? e.Target : e.Target.AsSpan(0, query));
        if (query < 0) json.WriteNull("query");
        else json.WriteString("query", e.Target.AsSpan(query + 1));
        json.WriteString("protocol", e.Protocol);
        json.WriteNumber("status", e.Status);
        json.WriteNumber("bytes_sent", e.BytesSent);
        json.WriteNumber("duration_seconds", Math.Round(e.Duration.TotalSeconds, 6));
        StringOrNull(json, "route", e.Route);
        StringOrNull(json, "cluster", e.Cluster);
        StringOrNull(json, "destination", e.Destination);
        if (e.UpstreamStatus is { } upstream) json.WriteNumber("upstream_status", upstream);
        else json.WriteNull("upstream_status");
        if (e.UpstreamTime is { } time) json.WriteNumber("upstream_time_seconds", Math.Round(time.TotalSeconds, 6));
        else json.WriteNull("upstream_time_seconds");
        StringOrNull(json, "user_agent", e.UserAgent);
        StringOrNull(json, "referer", e.Referer);
        StringOrNull(json, "tls_protocol", e.TlsProtocol);
        StringOrNull(json, "request_id", e.RequestId);
        json.WriteNumber("pid", e.Pid);
        json.WriteEndObject();
        json.Flush();
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    private static void StringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }
}
