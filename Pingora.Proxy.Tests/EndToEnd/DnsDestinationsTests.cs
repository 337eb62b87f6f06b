using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// <c>dns_refresh_seconds</c>: a destination named <c>localhost</c> becomes one destination per address the name
/// has, re-resolved on the interval, so the fleet grows and shrinks as DNS says. The daemon runs in a mount namespace
/// of its own whose /etc/hosts is the test's file (this machine's own may give localhost one address, and must not be
/// edited); backends listen on 127.0.0.1 and ::1 at the same port. Without the resolver every request goes to the
/// address the first connection found, whatever the file says later.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DnsDestinationsTests : PingoraTestBase
{
    [Test]
    public async Task A_host_name_fleet_grows_and_shrinks_with_its_addresses()
    {
        if (!Socket.OSSupportsIPv6) Assert.Ignore("needs IPv6 for ::1");
        var probe = StartProcess("unshare", ["-m", "true"]);
        if (await probe.WaitForExitAsync(Timeouts.Phase) != 0)
            Assert.Ignore($"cannot make a mount namespace (unshare -m: {probe.Stderr.Trim()}); needs root");

        var v4 = await StartBackendAsync("v4");
        var v6 = await StartBackendAsync("v6", IPAddress.IPv6Loopback, v4.Port);
        var hosts = Path.Combine(TempDir, "hosts");
        // Rewritten in place (File.WriteAllText truncates): the bind mount holds this inode, a rename would not show.
        File.WriteAllText(hosts, "127.0.0.1 localhost\n");

        var config = NewConfig();
        var listener = config.AddListener();
        config.RawServerValues["dns_refresh_seconds"] = "0.5";
        config.AddRoute("r1", "c1", "/{**rest}");
        config.AddCluster("c1", $"http://localhost:{v4.Port}/").LoadBalancingPolicy = "RoundRobin";
        config.Write();
        var pingora = StartProcess("unshare", ["-m", "--", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$1\" -c \"$2\"",
            hosts, RepoPaths.RequireBinary(), config.Path]);
        await pingora.WaitForPhaseAsync("serving", Timeouts.Startup);
        var client = NewClient();
        var url = listener.Url("/echo/dns");

        for (var i = 0; i < 4; i++)
            Assert.That((await client.GetEchoAsync(url)).Backend, Is.EqualTo("v4"), "one address: one destination");

        File.WriteAllText(hosts, "127.0.0.1 localhost\n::1 localhost\n");
        var grown = await WaitForBackendAsync(client, url, e => e.Backend == "v6", "a request reaching ::1 once localhost has it");
        Assert.That(grown.Host, Is.EqualTo($"localhost:{v4.Port}"), "the destination made from an address keeps the name as Host");

        File.WriteAllText(hosts, "::1 localhost\n");
        // Round robin over two destinations never gives four of one in a row: four v6 answers mean v4 is gone.
        var inARow = 0;
        await WaitForBackendAsync(client, url, e => (inARow = e.Backend == "v6" ? inARow + 1 : 0) == 4,
            "four requests in a row to ::1 once localhost lost 127.0.0.1");
    }

    /// <summary>Requests until one matches; each is a real request, the bound is the refresh period plus slack.</summary>
    private static async Task<EchoResponse> WaitForBackendAsync(HttpClient client, Uri url, Func<EchoResponse, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + Timeouts.AfterConfigured(0.5);
        var seen = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            var echo = await client.GetEchoAsync(url);
            if (match(echo)) return echo;
            seen.Add(echo.Backend);
        }
        Assert.Fail($"timed out waiting for {what}; backends seen: {string.Join(",", seen.TakeLast(20))}");
        return null!;
    }
}
