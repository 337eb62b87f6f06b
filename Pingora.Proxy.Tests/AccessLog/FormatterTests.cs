using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Pingora.Proxy.AccessLog;

namespace Pingora.Proxy.Tests.AccessLog;

/// <summary>The two line formats, byte for byte: nginx's combined format (and its escaping), and the JSON fields.</summary>
[TestFixture]
public sealed class FormatterTests
{
    private static readonly AccessLogEntry Proxied = new(
        Time: new DateTimeOffset(2026, 12, 1, 9, 8, 7, TimeSpan.FromHours(1)),
        ClientAddress: IPAddress.Parse("192.0.2.7"), ClientPort: 51234,
        Method: "GET", Target: "/api/items?id=3&x=y", Protocol: "HTTP/1.1",
        Status: 200, BytesSent: 1234, Duration: TimeSpan.FromMilliseconds(12.7),
        Route: "api", Cluster: "backend", Destination: "http://10.0.0.1:8080/",
        UpstreamStatus: 200, UpstreamTime: TimeSpan.FromMilliseconds(10.25),
        UserAgent: "curl/8.5.0", Referer: "https://example.com/", TlsProtocol: "TLSv1.3",
        RequestId: "4bf92f3577b34da6a3ce929d0e0e4736", Pid: 4242);

    private static string Combined(in AccessLogEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>();
        CombinedFormatter.Format(entry, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static JsonElement Json(in AccessLogEntry entry, out string text)
    {
        var buffer = new ArrayBufferWriter<byte>();
        JsonFormatter.Format(entry, buffer);
        text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return JsonDocument.Parse(text).RootElement;
    }

    [Test]
    public void Combined_is_nginx_combined_then_request_time_and_upstream()
    {
        Assert.That(Combined(Proxied), Is.EqualTo(
            "192.0.2.7 - - [01/Dec/2026:09:08:07 +0100] \"GET /api/items?id=3&x=y HTTP/1.1\" 200 1234 " +
            "\"https://example.com/\" \"curl/8.5.0\" 0.012 http://10.0.0.1:8080/\n"));
    }

    [Test]
    public void Combined_writes_a_dash_for_what_is_missing_and_a_negative_offset_with_its_sign()
    {
        var entry = Proxied with
        {
            Time = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(-330)), ClientAddress = null, Referer = null,
            UserAgent = "", Destination = null, Status = 404, BytesSent = 0, Duration = TimeSpan.FromSeconds(61.0004),
        };
        Assert.That(Combined(entry), Is.EqualTo(
            "- - - [02/Jan/2026:03:04:05 -0530] \"GET /api/items?id=3&x=y HTTP/1.1\" 404 0 \"-\" \"-\" 61.000 -\n"));
    }

    [Test]
    public void Combined_time_follows_each_second_and_each_offset_change_on_one_thread()
    {
        // $time_local is formatted once a second per thread: the next second, and the same instant at another
        // offset (a change of the local zone's rule), must each show.
        string Time(DateTimeOffset t) => Combined(Proxied with { Time = t })[15..41];
        var t0 = new DateTimeOffset(2026, 3, 29, 1, 59, 59, TimeSpan.FromHours(1));
        Assert.That(Time(t0), Is.EqualTo("29/Mar/2026:01:59:59 +0100"));
        Assert.That(Time(t0.AddMilliseconds(999)), Is.EqualTo("29/Mar/2026:01:59:59 +0100"));
        Assert.That(Time(t0.AddSeconds(1)), Is.EqualTo("29/Mar/2026:02:00:00 +0100"));
        Assert.That(Time(t0.AddSeconds(1).ToOffset(TimeSpan.FromHours(2))), Is.EqualTo("29/Mar/2026:03:00:00 +0200"));
    }

    [Test]
    public void Combined_escapes_quotes_backslashes_control_and_non_ascii_bytes_as_nginx_does()
    {
        // nginx (ngx_http_log_escape, escape=default): '"', '\', 0x00-0x1F and 0x7F-0xFF become \xHH, upper-case.
        var entry = Proxied with { UserAgent = "a\"b\\c\td\u007fé\n", Referer = "x y", Target = "/p\"q" };
        Assert.That(Combined(entry), Is.EqualTo(
            "192.0.2.7 - - [01/Dec/2026:09:08:07 +0100] \"GET /p\\x22q HTTP/1.1\" 200 1234 " +
            "\"x y\" \"a\\x22b\\x5Cc\\x09d\\x7F\\xC3\\xA9\\x0A\" 0.012 http://10.0.0.1:8080/\n"));
    }

    [Test]
    public void Combined_writes_an_ipv4_mapped_client_as_ipv4_and_ipv6_plainly()
    {
        Assert.That(Combined(Proxied with { ClientAddress = IPAddress.Parse("::ffff:198.51.100.1") }), Does.StartWith("198.51.100.1 - - ["));
        Assert.That(Combined(Proxied with { ClientAddress = IPAddress.Parse("2001:db8::1") }), Does.StartWith("2001:db8::1 - - ["));
    }

    [Test]
    public void Json_is_one_line_with_every_documented_field()
    {
        var json = Json(Proxied, out var text);
        Assert.That(text, Does.EndWith("}\n"));
        Assert.That(text.TrimEnd('\n'), Does.Not.Contain("\n"));
        Assert.That(json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "time", "client_address", "client_port", "method", "path", "query", "protocol", "status", "bytes_sent",
            "duration_seconds", "route", "cluster", "destination", "upstream_status", "upstream_time_seconds",
            "user_agent", "referer", "tls_protocol", "request_id", "pid",
        }));
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("time").GetDateTimeOffset(), Is.EqualTo(Proxied.Time));
            Assert.That(json.GetProperty("client_address").GetString(), Is.EqualTo("192.0.2.7"));
            Assert.That(json.GetProperty("client_port").GetInt32(), Is.EqualTo(51234));
            Assert.That(json.GetProperty("path").GetString(), Is.EqualTo("/api/items"));
            Assert.That(json.GetProperty("query").GetString(), Is.EqualTo("id=3&x=y"));
            Assert.That(json.GetProperty("status").GetInt32(), Is.EqualTo(200));
            Assert.That(json.GetProperty("bytes_sent").GetInt64(), Is.EqualTo(1234));
            Assert.That(json.GetProperty("duration_seconds").GetDouble(), Is.EqualTo(0.0127).Within(1e-6));
            Assert.That(json.GetProperty("upstream_time_seconds").GetDouble(), Is.EqualTo(0.01025).Within(1e-6));
            Assert.That(json.GetProperty("destination").GetString(), Is.EqualTo("http://10.0.0.1:8080/"));
            Assert.That(json.GetProperty("request_id").GetString(), Is.EqualTo(Proxied.RequestId));
            Assert.That(json.GetProperty("tls_protocol").GetString(), Is.EqualTo("TLSv1.3"));
            Assert.That(json.GetProperty("pid").GetInt32(), Is.EqualTo(4242));
        });
    }

    [Test]
    public void Json_keeps_every_field_as_null_when_there_is_no_value_and_escapes_what_needs_it()
    {
        var json = Json(Proxied with
        {
            Target = "/", Route = null, Cluster = null, Destination = null, UpstreamStatus = null, UpstreamTime = null,
            UserAgent = "a\"b\n", ClientAddress = null,
        }, out var text);
        Assert.That(text.TrimEnd('\n'), Does.Not.Contain("\n"));
        foreach (var name in new[] { "query", "route", "cluster", "destination", "upstream_status", "upstream_time_seconds", "client_address", "client_port" })
            Assert.That(json.GetProperty(name).ValueKind, Is.EqualTo(JsonValueKind.Null), name);
        Assert.That(json.GetProperty("user_agent").GetString(), Is.EqualTo("a\"b\n"));
    }
}
