using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Routes from the ReverseProxy section pick the cluster by path and by host.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RoutingTests : PingoraTestBase
{
    [Test]
    public async Task Requests_are_routed_by_path()
    {
        var a = await StartBackendAsync("A");
        var b = await StartBackendAsync("B");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("to-a", "ca", "/echo/a/{**rest}");
        config.AddRoute("to-b", "cb", "/echo/b/{**rest}");
        config.AddCluster("ca", a);
        config.AddCluster("cb", b);
        await StartServingAsync(config);
        var client = NewClient();

        var viaA = await client.GetEchoAsync(listener.Url("/echo/a/one?x=1"));
        var viaB = await client.GetEchoAsync(listener.Url("/echo/b/two/deeper"));
        using var unrouted = await client.GetAsync(listener.Url("/echo/c/three"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(viaA.Backend, Is.EqualTo("A"));
            Assert.That(viaA.Path, Is.EqualTo("/echo/a/one"));
            Assert.That(viaA.Query, Is.EqualTo("?x=1"));
            Assert.That(viaB.Backend, Is.EqualTo("B"));
            Assert.That(viaB.Path, Is.EqualTo("/echo/b/two/deeper"));
            Assert.That(unrouted.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a path no route matches");
            Assert.That(unrouted.Headers.Contains(TestBackend.BackendHeader), Is.False, "no backend may answer an unrouted path");
            Assert.That(a.RequestCount, Is.EqualTo(1));
            Assert.That(b.RequestCount, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task Requests_are_routed_by_host()
    {
        var a = await StartBackendAsync("A");
        var b = await StartBackendAsync("B");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("host-a", "ca", "/echo/{**rest}", "a.test");
        config.AddRoute("host-b", "cb", "/echo/{**rest}", "b.test");
        config.AddCluster("ca", a);
        config.AddCluster("cb", b);
        await StartServingAsync(config);
        var client = NewClient();

        var viaA = await client.GetEchoAsync(listener.Url("/echo/same"), host: "a.test");
        var viaB = await client.GetEchoAsync(listener.Url("/echo/same"), host: "b.test");
        using var otherHost = new HttpRequestMessage(HttpMethod.Get, listener.Url("/echo/same"));
        otherHost.Headers.Host = "c.test";
        using var unrouted = await client.SendAsync(otherHost);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(viaA.Backend, Is.EqualTo("A"));
            Assert.That(viaB.Backend, Is.EqualTo("B"));
            Assert.That(viaA.Path, Is.EqualTo("/echo/same"));
            Assert.That(unrouted.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a host no route matches");
            Assert.That(unrouted.Headers.Contains(TestBackend.BackendHeader), Is.False, "no backend may answer an unrouted host");
        }
    }
}
