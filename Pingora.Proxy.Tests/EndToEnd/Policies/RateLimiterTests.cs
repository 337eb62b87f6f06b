using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd.Policies;

/// <summary>
/// A route's <c>RateLimiterPolicy</c> limits it as the file's <c>RateLimiter</c> section says: exactly the permitted
/// number of 200s within one window, then 429 with Retry-After where the limiter knows it, per client address (the
/// PROXY header's, behind a balancer) or per header value.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RateLimiterTests : PingoraTestBase
{
    // A window far longer than the test, so every request falls in the first one.
    [TestCase("FixedWindow", "{ PermitLimit: 3, Window: \"00:10:00\", QueueLimit: 0 }", true)]
    [TestCase("SlidingWindow", "{ PermitLimit: 3, Window: \"00:10:00\", SegmentsPerWindow: 2, QueueLimit: 0 }", false)]
    [TestCase("TokenBucket", "{ TokenLimit: 3, TokensPerPeriod: 1, ReplenishmentPeriod: \"00:10:00\", QueueLimit: 0 }", true)]
    public async Task Exactly_the_permitted_requests_pass_then_429_with_Retry_After(string kind, string options, bool retryAfter)
    {
        var (listener, backend, pingora) = await StartAsync("None", $"{kind}: {options}");
        var client = NewClient();

        var statuses = new List<HttpStatusCode>();
        string? retry = null;
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync(listener.Url("/echo/limited"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) retry ??= response.Headers.RetryAfter?.ToString();
        }

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }),
            pingora.LastLines());
        Assert.That(backend.RequestCount, Is.EqualTo(3), "a rejected request never reaches the backend");
        // A sliding window's refusal carries no retry time in System.Threading.RateLimiting.
        if (retryAfter) Assert.That(retry, Is.Not.Null.And.Match(@"^\d+$"), $"{kind}: Retry-After in seconds");
        else Assert.That(retry, Is.Null, $"{kind}: no Retry-After");
        using var other = await client.GetAsync(listener.Url("/echo/unlimited"));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a route without the policy is not limited");
    }

    [Test]
    public async Task A_concurrency_limiter_refuses_the_second_request_while_the_first_is_in_flight()
    {
        var (listener, backend, pingora) = await StartAsync("None", "Concurrency: { PermitLimit: 1, QueueLimit: 0 }");
        var client = NewClient();

        var first = client.GetAsync(listener.Url("/delay?ms=3000"));
        await backend.WaitForInFlightAsync(1, Timeouts.Request);
        using (var second = await client.GetAsync(listener.Url("/echo/limited")))
        {
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), pingora.LastLines());
            Assert.That(second.Headers.RetryAfter, Is.Null, "a concurrency limiter cannot know when a permit comes back");
        }
        using (var done = await first) Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var third = await client.GetAsync(listener.Url("/echo/limited"));
        Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the permit is back once the first request is done");
    }

    [Test]
    public async Task Each_client_address_from_the_PROXY_header_has_its_own_limiter()
    {
        var (listener, backend, pingora) = await StartAsync("ClientAddress", "FixedWindow: { PermitLimit: 2, Window: \"00:10:00\" }", proxyProtocol: true);
        var a = IPEndPoint.Parse("192.0.2.10:5000");
        var b = IPEndPoint.Parse("192.0.2.11:5000");
        var server = IPEndPoint.Parse("198.51.100.2:80");

        var fromA = new List<int>();
        for (var i = 0; i < 3; i++) fromA.Add(await GetThroughProxyHeaderAsync(listener, a, server));
        var fromB = await GetThroughProxyHeaderAsync(listener, b, server);

        Assert.That(fromA, Is.EqualTo(new[] { 200, 200, 429 }), pingora.LastLines());
        Assert.That(fromB, Is.EqualTo(200), "another client, same balancer connection address: its own budget");
        Assert.That(backend.RequestCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Each_value_of_the_partition_header_has_its_own_limiter()
    {
        var (listener, _, pingora) = await StartAsync("Header:X-Api-Key", "FixedWindow: { PermitLimit: 2, Window: \"00:10:00\" }");
        var client = NewClient();

        async Task<int> Get(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, listener.Url("/echo/limited"));
            request.Headers.Add("X-Api-Key", key);
            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        }

        var keyA = new[] { await Get("a"), await Get("a"), await Get("a") };
        var keyB = await Get("b");

        Assert.That(keyA, Is.EqualTo(new[] { 200, 200, 429 }), pingora.LastLines());
        Assert.That(keyB, Is.EqualTo(200));
    }

    private async Task<(ListenerSpec Listener, TestBackend Backend, PingoraProcess Pingora)> StartAsync(string partitionBy,
        string limiter, bool proxyProtocol = false)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        listener.ProxyProtocol = proxyProtocol;
        config.ExtraTopLevelLines.AddRange([
            "RateLimiter:",
            "  Policies:",
            "    limited:",
            $"      PartitionBy: \"{partitionBy}\"",
            $"      {limiter}",
        ]);
        config.AddRoute("limited", "c1", "/echo/limited").ExtraLines.Add("RateLimiterPolicy: limited");
        config.AddRoute("delay", "c1", "/delay").ExtraLines.Add("RateLimiterPolicy: limited");
        config.AddRoute("unlimited", "c1", "/echo/unlimited");
        config.AddCluster("c1", backend);
        return (listener, backend, await StartServingAsync(config));
    }

    private static async Task<int> GetThroughProxyHeaderAsync(ListenerSpec listener, IPEndPoint client, IPEndPoint server)
    {
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        var response = await RawHttpClient.GetAsync(new IPEndPoint(IPAddress.Loopback, listener.Port), "/echo/limited", "localhost", null,
            [ProxyHeaders.V1(client, server)], TimeSpan.Zero, timeout.Token);
        return response.StatusCode;
    }
}
