using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// The <c>Kestrel: Limits:</c> section reaches the running server: each limit with a visible effect is set low and
/// crossed, and a request just under it passes. With Kestrel's defaults (32 KiB of headers, 30 MB bodies, 30 s for
/// headers, unlimited connections) every crossing below would succeed.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class KestrelLimitsTests : PingoraTestBase
{
    private async Task<ListenerSpec> StartWithLimitsAsync(params string[] limits)
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("r1", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        config.ExtraTopLevelLines.Add("Kestrel:");
        config.ExtraTopLevelLines.Add("  Limits:");
        config.ExtraTopLevelLines.AddRange(limits.Select(l => "    " + l));
        await StartServingAsync(config);
        return listener;
    }

    private static async Task<RawHttpResponse> SendAsync(ListenerSpec listener, string request)
    {
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        using var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, listener.Port, timeout.Token);
        return await RawHttpClient.SendAsync(tcp.GetStream(), request, timeout.Token);
    }

    private static string Get(string extraHeaders = "") =>
        $"GET /echo/limits HTTP/1.1\r\nHost: localhost\r\n{extraHeaders}Connection: close\r\n\r\n";

    [Test]
    public async Task Headers_over_MaxRequestHeadersTotalSize_get_431()
    {
        var listener = await StartWithLimitsAsync("MaxRequestHeadersTotalSize: 2048");

        var under = await SendAsync(listener, Get($"X-Pad: {new string('a', 1000)}\r\n"));
        var over = await SendAsync(listener, Get($"X-Pad: {new string('a', 3000)}\r\n"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(under.StatusCode, Is.EqualTo(200), "1 KB of headers is under the limit");
            Assert.That(over.StatusCode, Is.EqualTo(431), "3 KB of headers is over the 2 KB limit");
        }
    }

    [Test]
    public async Task More_headers_than_MaxRequestHeaderCount_get_431()
    {
        var listener = await StartWithLimitsAsync("MaxRequestHeaderCount: 10");
        string Headers(int n) => string.Concat(Enumerable.Range(0, n).Select(i => $"X-H{i}: v\r\n"));

        var under = await SendAsync(listener, Get(Headers(5)));
        var over = await SendAsync(listener, Get(Headers(20)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(under.StatusCode, Is.EqualTo(200));
            Assert.That(over.StatusCode, Is.EqualTo(431));
        }
    }

    [Test]
    public async Task A_body_over_MaxRequestBodySize_gets_413()
    {
        var listener = await StartWithLimitsAsync("MaxRequestBodySize: 1000");
        string Post(int length) =>
            $"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{new string('b', length)}";

        var under = await SendAsync(listener, Post(500));
        var over = await SendAsync(listener, Post(2000));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(under.StatusCode, Is.EqualTo(200));
            Assert.That(under.BodyText, Is.EqualTo("500"), "the backend received the whole body");
            Assert.That(over.StatusCode, Is.EqualTo(413));
        }
    }

    [Test]
    public async Task Headers_not_complete_within_RequestHeadersTimeout_get_408_and_a_close()
    {
        var listener = await StartWithLimitsAsync("RequestHeadersTimeout: \"00:00:01\"");
        using var timeout = new CancellationTokenSource(Timeouts.AfterConfigured(1));
        using var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, listener.Port, timeout.Token);
        var stream = tcp.GetStream();

        // The request line and one header, then nothing: the blank line that ends the headers never comes.
        var response = await RawHttpClient.SendAsync(stream, "GET /echo/slow HTTP/1.1\r\nHost: localhost\r\n", timeout.Token);
        var afterResponse = await stream.ReadAsync(new byte[1], timeout.Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(408));
            Assert.That(afterResponse, Is.Zero, "the connection is closed after the 408");
        }
    }

    [Test]
    public async Task A_connection_over_MaxConcurrentConnections_is_closed_unanswered_until_one_ends()
    {
        var listener = await StartWithLimitsAsync("MaxConcurrentConnections: 1");
        using var timeout = new CancellationTokenSource(Timeouts.Request);
        var first = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        try
        {
            await first.ConnectAsync(IPAddress.Loopback, listener.Port, timeout.Token);
            // An answered request proves the first connection is accepted and counted before the second one comes.
            var held = await RawHttpClient.SendAsync(first.GetStream(),
                "GET /echo/held HTTP/1.1\r\nHost: localhost\r\n\r\n", timeout.Token);
            Assert.That(held.StatusCode, Is.EqualTo(200));

            Assert.That(async () => await SendAsync(listener, Get()), Throws.InstanceOf<IOException>(),
                "a second connection while the first is open is closed without a response");
        }
        finally
        {
            first.Dispose();
        }

        // Kestrel releases the slot when it has processed the first connection's close: bounded retries, no sleep.
        var deadline = DateTime.UtcNow + Timeouts.Request;
        while (true)
        {
            try
            {
                Assert.That((await SendAsync(listener, Get())).StatusCode, Is.EqualTo(200));
                return;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }
}
