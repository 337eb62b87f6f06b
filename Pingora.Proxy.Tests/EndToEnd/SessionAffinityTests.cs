using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Session affinity keeps a client that carries the affinity cookie on one destination.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class SessionAffinityTests : PingoraTestBase
{
    private const string CookieName = ".Pingora.Affinity"; // TestConfig's AffinityKeyName

    [Test]
    public async Task HashCookie_keeps_each_client_on_one_destination_under_RoundRobin()
    {
        var a = await StartBackendAsync("A");
        var b = await StartBackendAsync("B");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        var cluster = config.AddCluster("c1", a, b);
        // RoundRobin alone would alternate every request, so staying on one backend can only come from the cookie.
        cluster.LoadBalancingPolicy = "RoundRobin";
        cluster.SessionAffinityPolicy = "HashCookie";
        var pingora = await StartServingAsync(config);

        // Each HttpClient has its own cookie container: two browsers.
        var first = await StickyBackendAsync(NewClient(), listener, "first", pingora);
        var second = await StickyBackendAsync(NewClient(), listener, "second", pingora);
        Assert.That(second, Is.Not.EqualTo(first),
            "the second client's first request is load balanced (RoundRobin) to the other destination and stays there");
    }

    /// <summary>Sends a request without a cookie, then more with the cookie the first response set; all must land on
    /// the first one's backend. Returns it.</summary>
    private static async Task<string> StickyBackendAsync(HttpClient client, ListenerSpec listener, string name, PingoraProcess pingora)
    {
        var initial = await client.GetEchoAsync(listener.Url($"/echo/{name}/0"));
        Assert.That(initial.Header("Cookie"), Is.Null, $"the {name} client's first request carries no cookie");
        var answeredBy = new List<string> { initial.Backend };
        for (var i = 1; i <= 6; i++)
        {
            var echo = await client.GetEchoAsync(listener.Url($"/echo/{name}/{i}"));
            Assert.That(echo.Header("Cookie"), Does.Contain(CookieName + "="),
                $"the {name} client carries the affinity cookie set by the first response\n" + pingora.LastLines());
            answeredBy.Add(echo.Backend);
        }
        Assert.That(answeredBy.Distinct(), Has.Exactly(1).Items,
            $"the {name} client must stick to one destination, got {string.Join(",", answeredBy)}\n" + pingora.LastLines());
        return initial.Backend;
    }
}
