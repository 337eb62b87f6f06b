using System.Diagnostics;
using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd.Policies;

/// <summary>Routes' <c>TimeoutPolicy</c>, <c>OutputCachePolicy</c> and <c>CorsPolicy</c> against a real backend.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TimeoutCacheCorsTests : PingoraTestBase
{
    [Test]
    public async Task A_slow_upstream_gets_the_policy_status_within_the_timeout()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.ExtraTopLevelLines.AddRange([
            "RequestTimeouts:",
            "  Policies:",
            "    short: { Timeout: \"00:00:01\" }",
            "    custom: { Timeout: \"00:00:01\", TimeoutStatusCode: 503 }",
        ]);
        config.AddRoute("short", "c1", "/delay").ExtraLines.Add("TimeoutPolicy: short");
        config.AddRoute("custom", "c1", "/custom/{**rest}").ExtraLines.Add("TimeoutPolicy: custom");
        config.Route("custom").Transform(("PathSet", "/delay"));
        config.AddRoute("fast", "c1", "/echo/{**rest}");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);
        var client = NewClient();

        var clock = Stopwatch.StartNew();
        using (var timedOut = await client.GetAsync(listener.Url("/delay?ms=20000")))
        {
            Assert.That(timedOut.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout), pingora.LastLines());
            Assert.That(clock.Elapsed, Is.InRange(TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8)), "answered at the 1 s timeout, not the backend's 20 s");
        }
        using (var custom = await client.GetAsync(listener.Url("/custom/x?ms=20000")))
            Assert.That(custom.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "the policy's TimeoutStatusCode\n" + pingora.LastLines());
        using (var quick = await client.GetAsync(listener.Url("/delay?ms=10")))
            Assert.That(quick.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a response within the timeout passes");
        await client.GetEchoAsync(listener.Url("/echo/untimed"));
    }

    [Test]
    public async Task Two_identical_requests_reach_the_upstream_once()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.ExtraTopLevelLines.AddRange([
            "OutputCache:",
            "  Policies:",
            "    cached: { Expire: \"00:10:00\" }",
        ]);
        config.AddRoute("cached", "c1", "/echo/cached/{**rest}").ExtraLines.Add("OutputCachePolicy: cached");
        config.AddRoute("plain", "c1", "/echo/{**rest}");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);
        var client = NewClient();

        var first = await client.GetStringAsync(listener.Url("/echo/cached/x"));
        var second = await client.GetStringAsync(listener.Url("/echo/cached/x"));
        Assert.That(backend.RequestCount, Is.EqualTo(1), "the second request is answered from the cache\n" + pingora.LastLines());
        Assert.That(second, Is.EqualTo(first));

        await client.GetStringAsync(listener.Url("/echo/cached/x?other=1"));
        await client.GetStringAsync(listener.Url("/echo/plain"));
        await client.GetStringAsync(listener.Url("/echo/plain"));
        Assert.That(backend.RequestCount, Is.EqualTo(4), "another query is another entry; a route without the policy is not cached");
    }

    [Test]
    public async Task A_CORS_preflight_is_answered_by_the_proxy_for_an_allowed_origin_only()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.ExtraTopLevelLines.AddRange([
            "Cors:",
            "  Policies:",
            "    app:",
            "      Origins: [\"https://app.example\"]",
            "      Methods: [GET, PUT]",
            "      Headers: [X-Token]",
            "      SupportsCredentials: true",
            "      PreflightMaxAge: \"00:10:00\"",
        ]);
        config.AddRoute("api", "c1", "/echo/{**rest}").ExtraLines.Add("CorsPolicy: app");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);
        var client = NewClient();

        using var allowed = await client.SendAsync(Preflight(listener, "https://app.example"));
        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), pingora.LastLines());
        Assert.That(Header(allowed, "Access-Control-Allow-Origin"), Is.EqualTo("https://app.example"));
        Assert.That(Header(allowed, "Access-Control-Allow-Methods"), Does.Contain("PUT"));
        Assert.That(Header(allowed, "Access-Control-Allow-Headers"), Does.Contain("X-Token").IgnoreCase);
        Assert.That(Header(allowed, "Access-Control-Allow-Credentials"), Is.EqualTo("true"));
        Assert.That(Header(allowed, "Access-Control-Max-Age"), Is.EqualTo("600"));

        using var refused = await client.SendAsync(Preflight(listener, "https://evil.example"));
        Assert.That(Header(refused, "Access-Control-Allow-Origin"), Is.Null, "an origin outside the policy gets no CORS headers");
        Assert.That(backend.RequestCount, Is.Zero, "preflights are the proxy's to answer");

        using var actual = new HttpRequestMessage(HttpMethod.Get, listener.Url("/echo/data"));
        actual.Headers.Add("Origin", "https://app.example");
        using var response = await client.SendAsync(actual);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Header(response, "Access-Control-Allow-Origin"), Is.EqualTo("https://app.example"));
    }

    private static HttpRequestMessage Preflight(ListenerSpec listener, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, listener.Url("/echo/data"));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "PUT");
        request.Headers.Add("Access-Control-Request-Headers", "X-Token");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
