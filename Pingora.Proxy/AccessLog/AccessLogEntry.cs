using System.Net;

namespace Pingora.Proxy.AccessLog;

/// <summary>What one access log line says about one request; the formatters turn it into bytes.</summary>
/// <param name="Target">The request target as the client sent it (path and query), as nginx's $request has it.</param>
/// <param name="Status">The status sent, or 499 when the client went away before the response was complete.</param>
/// <param name="BytesSent">Response body bytes written (nginx's $body_bytes_sent).</param>
public readonly record struct AccessLogEntry(
    DateTimeOffset Time,
    IPAddress? ClientAddress,
    int ClientPort,
    string Method,
    string Target,
    string Protocol,
    int Status,
    long BytesSent,
    TimeSpan Duration,
    string? Route,
    string? Cluster,
    string? Destination,
    int? UpstreamStatus,
    TimeSpan? UpstreamTime,
    string? UserAgent,
    string? Referer,
    string? TlsProtocol,
    string? RequestId,
    int Pid);
