using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>A cluster with two destinations spreads requests over both.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class LoadBalancingTests : PingoraTestBase
{
    [Test]
    public async Task RoundRobin_alternates_between_two_destinations()
    {
        var a = await StartBackendAsync("A");
        var b = await StartBackendAsync("B");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        config.AddCluster("c1", a, b).LoadBalancingPolicy = "RoundRobin";
        await StartServingAsync(config);
        var client = NewClient();

        var answeredBy = new List<string>();
        for (var i = 0; i < 10; i++) answeredBy.Add((await client.GetEchoAsync(listener.Url($"/echo/{i}"))).Backend);

        var sequence = string.Join(",", answeredBy);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(answeredBy.Count(n => n == "A"), Is.EqualTo(5), sequence);
            Assert.That(answeredBy.Count(n => n == "B"), Is.EqualTo(5), sequence);
            // Sequential requests under RoundRobin never hit the same destination twice in a row.
            Assert.That(answeredBy.Zip(answeredBy.Skip(1)).All(pair => pair.First != pair.Second), Is.True,
                $"RoundRobin should alternate, got {sequence}");
            Assert.That(a.RequestCount + b.RequestCount, Is.EqualTo(10));
        }
    }

    /// <summary>
    /// YARP's passive health checks still see every proxied request (the pipeline runs their middleware only for
    /// clusters that enable them): a destination that refuses connections is taken out of the rotation.
    /// </summary>
    [Test]
    public async Task Passive_health_checks_take_a_refusing_destination_out_of_the_rotation()
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        var cluster = config.AddCluster("c1", a.Address, $"http://127.0.0.1:{FreePort.Next()}/");
        cluster.LoadBalancingPolicy = "RoundRobin";
        cluster.PassiveHealthCheck = true;
        await StartServingAsync(config);
        var client = NewClient();

        var statuses = new List<int>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await client.GetAsync(listener.Url($"/echo/{i}"));
            statuses.Add((int)response.StatusCode);
        }

        // TransportFailureRate marks the refusing one unhealthy once 10 requests saw a failure rate above 0.3; without
        // the check, RoundRobin would keep sending every other request there (502).
        var sequence = string.Join(",", statuses);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(statuses.Take(10).Count(s => s == 502), Is.GreaterThan(0), sequence);
            Assert.That(statuses.Skip(30), Is.All.EqualTo(200), sequence);
        }
    }
}
