using System.Net;
using System.Net.Http;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The test backend's endpoints behave as the end-to-end tests assume.</summary>
[TestFixture]
[Category("Harness")]
public sealed class BackendChecks
{
    private TestBackend _backend = null!;
    private HttpClient _client = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _backend = await TestBackend.StartAsync("A");
        _client = HttpClients.Create();
    }

    [TearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _backend.DisposeAsync();
    }

    [Test]
    public async Task Echo_reports_method_path_query_host_headers_and_its_name()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_backend.BaseUri, "/echo/some/path?q=1&r=two"));
        request.Headers.Host = "example.test";
        request.Headers.Add("X-Probe", "probe-value");
        using var response = await _client.SendAsync(request);
        var echo = EchoResponse.Parse(await response.Content.ReadAsStringAsync());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues(TestBackend.BackendHeader).Single(), Is.EqualTo("A"));
        Assert.That(echo.Backend, Is.EqualTo("A"));
        Assert.That(echo.Method, Is.EqualTo("GET"));
        Assert.That(echo.Path, Is.EqualTo("/echo/some/path"));
        Assert.That(echo.Query, Is.EqualTo("?q=1&r=two"));
        Assert.That(echo.Host, Is.EqualTo("example.test"));
        Assert.That(echo.Header("x-probe"), Is.EqualTo("probe-value"));
    }

    [Test]
    public async Task Unknown_paths_are_404_and_still_name_the_backend()
    {
        using var response = await _client.GetAsync(new Uri(_backend.BaseUri, "/nothing-here"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(response.Headers.GetValues(TestBackend.BackendHeader).Single(), Is.EqualTo("A"));
    }

    [Test]
    public async Task Bytes_returns_exactly_n_pattern_bytes()
    {
        const int n = 1_000_003;
        var body = await _client.GetByteArrayAsync(new Uri(_backend.BaseUri, $"/bytes?n={n}"));
        HttpClients.AssertPatternBody(body, n, "/bytes");
    }

    [Test]
    public async Task Slow_sends_headers_at_once_and_spreads_the_body_over_the_duration()
    {
        var started = DateTimeOffset.UtcNow;
        using var response = await _client.GetAsync(new Uri(_backend.BaseUri, "/slow?ms=800&bytes=40000"),
            HttpCompletionOption.ResponseHeadersRead);
        var headersAt = DateTimeOffset.UtcNow - started;
        Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(40000));
        await _backend.WaitForInFlightAsync(1, TimeSpan.FromSeconds(5));

        var (body, completedAt) = await HttpClients.ReadBodyAsync(response, TimeSpan.FromSeconds(10), "/slow");
        HttpClients.AssertPatternBody(body, 40000, "/slow");
        Assert.That(headersAt, Is.LessThan(TimeSpan.FromMilliseconds(600)), "headers should not wait for the body");
        Assert.That(completedAt - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(750)), "the body should take about ms=800");
    }

    [Test]
    public async Task The_pattern_detects_a_shifted_or_truncated_body()
    {
        var body = await _client.GetByteArrayAsync(new Uri(_backend.BaseUri, "/bytes?n=70000"));
        Assert.That(BytePattern.FirstMismatch(body, 0), Is.EqualTo(-1));
        Assert.That(BytePattern.FirstMismatch(body.AsSpan(256), 0), Is.Not.EqualTo(-1), "a 256-byte shift must be visible");
        Assert.That(BytePattern.FirstMismatch(body.AsSpan(65536), 0), Is.Not.EqualTo(-1), "a 64 KiB shift must be visible");
        Assert.That(() => HttpClients.AssertPatternBody(body[..^1], 70000, "truncated"), Throws.InstanceOf<AssertionException>());
    }
}
