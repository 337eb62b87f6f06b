using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// A <c>proxy_protocol: true</c> listener takes the client address from each connection's PROXY header (v1 or v2), so
/// the backend's X-Forwarded-For names the client and not the load balancer; a connection without a valid header is
/// closed unanswered. A listener without the key is plain HTTP as before.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ProxyProtocolTests : PingoraTestBase
{
    private static readonly IPEndPoint Client4 = IPEndPoint.Parse("192.0.2.10:56324");
    private static readonly IPEndPoint Client6 = IPEndPoint.Parse("[2001:db8::10]:40000");
    private static readonly IPEndPoint Server4 = IPEndPoint.Parse("198.51.100.2:80");
    private static readonly IPEndPoint Server6 = IPEndPoint.Parse("[2001:db8::1]:80");

    private sealed record Proxy(TestConfig Config, ListenerSpec Behind, ListenerSpec Plain, PingoraProcess Pingora);

    /// <summary>One listener with proxy_protocol (TLS if a certificate is given), one without, everything to backend A.</summary>
    private async Task<Proxy> StartAsync(TestCertificate? tls = null, Action<TestConfig>? adjust = null)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var behind = config.AddListener(tls);
        behind.ProxyProtocol = true;
        var plain = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        adjust?.Invoke(config);
        return new Proxy(config, behind, plain, await StartServingAsync(config));
    }

    [TestCase("v1", 4)]
    [TestCase("v1", 6)]
    [TestCase("v2", 4)]
    [TestCase("v2", 6)]
    public async Task The_backend_sees_the_header_address_as_X_Forwarded_For(string version, int ipVersion)
    {
        var proxy = await StartAsync();
        var (client, server) = ipVersion == 4 ? (Client4, Server4) : (Client6, Server6);
        var header = version == "v1" ? ProxyHeaders.V1(client, server) : ProxyHeaders.V2(client, server);

        var echo = await EchoAsync(proxy.Behind, [header]);

        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo(client.Address.ToString()), () => proxy.Pingora.LastLines());
    }

    [Test]
    public async Task A_v2_header_with_TLVs_split_across_two_TCP_writes_is_read_whole()
    {
        var proxy = await StartAsync();
        var header = ProxyHeaders.V2(Client6, Server6, ProxyHeaders.Tlv(0x04, new byte[64]));

        // Cut inside the signature: the first segment cannot even tell the version yet.
        var echo = await EchoAsync(proxy.Behind, [header[..7], header[7..]], pause: TimeSpan.FromMilliseconds(300));

        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo("2001:db8::10"));
    }

    [Test]
    public async Task The_header_comes_before_the_TLS_handshake_on_a_TLS_listener()
    {
        var certificate = CreateCertificate();
        var proxy = await StartAsync(certificate);

        var echo = await EchoAsync(proxy.Behind, [ProxyHeaders.V1(Client4, Server4)], tls: certificate);

        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo("192.0.2.10"));
    }

    [Test]
    public async Task A_connection_without_a_valid_header_is_closed_unanswered_logged_and_the_listener_keeps_serving()
    {
        var proxy = await StartAsync();
        var from = proxy.Pingora.LineCount;

        byte[][] bad =
        [
            [], // a plain HTTP client, no header at all
            ProxyHeaders.V1("PROXY TCP4 192.0.2.10 198.51.100.2 99999 80\r\n"),
            [.. ProxyHeaders.V2(Client4, Server4)[..11], 0x00, .. ProxyHeaders.V2(Client4, Server4)[12..]],
        ];
        foreach (var preface in bad)
            await AssertClosedUnansweredAsync(proxy.Behind, preface.Length == 0 ? [] : [preface]);

        var logged = await proxy.Pingora.WaitForLineAsync("without a valid PROXY header", Timeouts.Phase, from);
        Assert.That(logged.Text, Does.Contain(proxy.Behind.Address).And.Contain("127.0.0.1:"));
        var echo = await EchoAsync(proxy.Behind, [ProxyHeaders.V1(Client4, Server4)]);
        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo("192.0.2.10"), "the listener still serves");
        Assert.That(proxy.Pingora.HasExited, Is.False);
    }

    [Test]
    public async Task A_listener_without_the_key_is_unaffected()
    {
        var proxy = await StartAsync();

        var echo = await EchoAsync(proxy.Plain, []);

        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo("127.0.0.1"), "the socket's address, as before");
        // A PROXY header on a plain listener is just a malformed HTTP request line.
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        var response = await RawHttpClient.GetAsync(Endpoint(proxy.Plain), "/echo/x", null, null,
            [ProxyHeaders.V1(Client4, Server4)], TimeSpan.Zero, timeout.Token);
        Assert.That(response.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public async Task The_proxy_protocol_listener_keeps_its_key_through_an_upgrade()
    {
        var proxy = await StartAsync();
        Assert.That((await EchoAsync(proxy.Behind, [ProxyHeaders.V1(Client4, Server4)])).Header("X-Forwarded-For"),
            Is.EqualTo("192.0.2.10"));

        var successor = await UpgradeAsync(proxy.Pingora, proxy.Config, UpgradeOrder.SuccessorFirst);
        await AwaitPredecessorExitAsync(proxy.Pingora, proxy.Config);

        // Only the successor is left on the handed-over socket.
        var echo = await EchoAsync(proxy.Behind, [ProxyHeaders.V2(Client6, Server6)]);
        Assert.That(echo.Header("X-Forwarded-For"), Is.EqualTo("2001:db8::10"), () => successor.LastLines());
        await AssertClosedUnansweredAsync(proxy.Behind, []);
        Assert.That((await EchoAsync(proxy.Plain, [])).Header("X-Forwarded-For"), Is.EqualTo("127.0.0.1"));
    }

    private static async Task<EchoResponse> EchoAsync(ListenerSpec listener, IReadOnlyList<byte[]> preface,
        TimeSpan pause = default, TestCertificate? tls = null)
    {
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        var response = await RawHttpClient.GetAsync(Endpoint(listener), "/echo/pp", "localhost", tls, preface, pause, timeout.Token);
        Assert.That(response.StatusCode, Is.EqualTo(200), response.BodyText);
        return EchoResponse.Parse(response.BodyText);
    }

    /// <summary>The daemon closes without a byte of response: a clean close, or a reset when our request was still
    /// unread in its socket.</summary>
    private static async Task AssertClosedUnansweredAsync(ListenerSpec listener, IReadOnlyList<byte[]> preface)
    {
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        try
        {
            var response = await RawHttpClient.GetAsync(Endpoint(listener), "/echo/pp", "localhost", null, preface, TimeSpan.Zero, timeout.Token);
            Assert.Fail($"answered {response.StatusCode} although the PROXY header was missing or invalid");
        }
        catch (ClosedEarlyException e)
        {
            Assert.That(e.Message, Does.Contain("after 0 bytes"));
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
        }
    }

    private static IPEndPoint Endpoint(ListenerSpec listener) => new(IPAddress.Loopback, listener.Port);
}
