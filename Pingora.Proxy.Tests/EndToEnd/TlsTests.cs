using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>TLS termination with the configured PEM certificate, HTTP/1.1 and HTTP/2 (ALPN) to a plain backend.
/// Clients pin the generated certificate: validation stays on.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TlsTests : PingoraTestBase
{
    private async Task<(ListenerSpec Listener, TestCertificate Certificate)> StartTlsAsync(IReadOnlyList<string>? protocols = null)
    {
        var a = await StartBackendAsync("A");
        var certificate = CreateCertificate();
        var config = NewConfig();
        var listener = config.AddListener(certificate, protocols);
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", a);
        await StartServingAsync(config);
        return (listener, certificate);
    }

    private static async Task<(HttpResponseMessage Response, EchoResponse Echo)> GetAsync(HttpClient client, Uri url, Version version)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url)
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return (response, EchoResponse.Parse(body));
    }

    [Test]
    public async Task Http11_over_tls_is_terminated_with_the_configured_certificate()
    {
        var (listener, certificate) = await StartTlsAsync();
        var client = NewClient(certificate);

        var (response, echo) = await GetAsync(client, listener.Url("/echo/secure?x=1"), HttpVersion.Version11);
        using (response)
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Version, Is.EqualTo(HttpVersion.Version11));
            Assert.That(echo.Backend, Is.EqualTo("A"));
            Assert.That(echo.Path, Is.EqualTo("/echo/secure"));
            Assert.That(echo.Query, Is.EqualTo("?x=1"));
        }
    }

    [Test]
    public async Task Http2_over_tls_is_negotiated_by_default()
    {
        var (listener, certificate) = await StartTlsAsync();
        var client = NewClient(certificate);

        var (response, echo) = await GetAsync(client, listener.Url("/echo/h2"), HttpVersion.Version20);
        using (response)
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Version, Is.EqualTo(HttpVersion.Version20));
            Assert.That(echo.Backend, Is.EqualTo("A"));
            Assert.That(echo.Path, Is.EqualTo("/echo/h2"));
        }
    }

    [Test]
    public async Task A_listener_restricted_to_http1_does_not_offer_http2()
    {
        var (listener, certificate) = await StartTlsAsync(["http1"]);
        var client = NewClient(certificate);

        var (response, _) = await GetAsync(client, listener.Url("/echo/h1-only"), HttpVersion.Version11);
        response.Dispose();
        using var h2 = new HttpRequestMessage(HttpMethod.Get, listener.Url("/echo/h1-only"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        await Assert.ThatAsync(() => client.SendAsync(h2), Throws.InstanceOf<HttpRequestException>(),
            "HTTP/2 must not be negotiated on a listener with protocols: [http1]");
    }

    [Test]
    public async Task The_daemon_presents_exactly_the_configured_certificate()
    {
        var (listener, _) = await StartTlsAsync();
        var other = CreateCertificate("other");
        var client = NewClient(other);

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(listener.Url("/echo/pinned")));
        Assert.That(failure!.InnerException, Is.InstanceOf<AuthenticationException>(),
            "a client pinned to another certificate must refuse the daemon's: " + failure);
    }
}
