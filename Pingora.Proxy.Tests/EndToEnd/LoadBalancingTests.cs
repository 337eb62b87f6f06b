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
}
