using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>YARP transforms from the route config are applied to what the backend receives.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TransformTests : PingoraTestBase
{
    [Test]
    public async Task PathRemovePrefix_and_RequestHeader_Set_reach_the_backend()
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("api", "c1", "/api/{**rest}")
            .Transform(("PathRemovePrefix", "/api"))
            .Transform(("RequestHeader", "X-Foo"), ("Set", "bar"));
        config.AddCluster("c1", a);
        await StartServingAsync(config);
        var client = NewClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, listener.Url("/api/echo/items/7?view=full"));
        // Set replaces: the client's own value must not reach the backend.
        request.Headers.Add("X-Foo", "from-client");
        using var response = await client.SendAsync(request);
        var echo = EchoResponse.Parse(await response.Content.ReadAsStringAsync());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(echo.Backend, Is.EqualTo("A"));
            Assert.That(echo.Path, Is.EqualTo("/echo/items/7"), "PathRemovePrefix /api");
            Assert.That(echo.Query, Is.EqualTo("?view=full"), "the query survives the path transform");
            Assert.That(echo.Header("X-Foo"), Is.EqualTo("bar"), "RequestHeader X-Foo Set bar");
        }
    }
}
