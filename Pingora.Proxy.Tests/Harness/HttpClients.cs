using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>HttpClient construction and the small request helpers the end-to-end tests share.</summary>
public static class HttpClients
{
    /// <summary>An HttpClient that never uses an environment proxy (http_proxy would silently route the tests'
    /// requests elsewhere), never follows redirects, and trusts exactly <paramref name="pinned"/> for TLS.</summary>
    public static HttpClient Create(TestCertificate? pinned = null, TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = Timeouts.Request,
        };
        if (pinned is not null) handler.SslOptions.RemoteCertificateValidationCallback = pinned.ValidationCallback;
        return new HttpClient(handler) { Timeout = timeout ?? Timeouts.Request };
    }

    /// <summary>GET on a proxied /echo path; asserts 200 and returns what the backend saw and which one it was.</summary>
    public static async Task<EchoResponse> GetEchoAsync(this HttpClient client, Uri url, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (host is not null) request.Headers.Host = host;
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), () => $"GET {url} (Host {host ?? url.Authority}): {body}");
        var echo = EchoResponse.Parse(body);
        Assert.That(response.Headers.TryGetValues(TestBackend.BackendHeader, out var names) ? names.Single() : null,
            Is.EqualTo(echo.Backend), $"x-backend header and echo body disagree for GET {url}");
        return echo;
    }

    /// <summary>GET on the daemon's status path; asserts 200 and JSON.</summary>
    public static async Task<DaemonStatus> GetStatusAsync(this HttpClient client, Uri url)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), () => $"GET {url}: {body}");
        Assert.That(response.Content.Headers.ContentType?.MediaType, Does.Contain("json"), () => $"GET {url}: {body}");
        return System.Text.Json.JsonSerializer.Deserialize<DaemonStatus>(body)
               ?? throw new AssertionException($"GET {url}: status body is not JSON: {body}");
    }

    /// <summary>Reads a whole response body, bounded; returns it with the time the last byte arrived (UTC, the
    /// clock <see cref="CapturedLine.SeenAt"/> uses, so body and log events can be ordered).</summary>
    public static async Task<(byte[] Body, DateTimeOffset CompletedAt)> ReadBodyAsync(HttpResponseMessage response,
        TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token);
            return (body, DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new HarnessTimeoutException($"timed out after {timeout.TotalSeconds:F1}s reading the body of {what}");
        }
    }

    /// <summary>Asserts that <paramref name="body"/> is exactly the first <paramref name="expectedLength"/> bytes
    /// of <see cref="BytePattern"/>.</summary>
    public static void AssertPatternBody(byte[] body, long expectedLength, string what)
    {
        Assert.That(body.LongLength, Is.EqualTo(expectedLength), $"{what}: body length");
        var mismatch = BytePattern.FirstMismatch(body, 0);
        Assert.That(mismatch, Is.EqualTo(-1), $"{what}: body differs from the pattern at offset {mismatch}");
    }
}
