using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Tests.ProxyProtocol;

/// <summary>proxy_protocol is listener config: SIGHUP cannot apply it, so a reload that changes it must say so.</summary>
public class ProxyProtocolReloadTests
{
    [Test]
    public void Turning_proxy_protocol_on_in_a_reload_is_reported_as_needing_an_upgrade()
    {
        var running = Load(proxyProtocol: false);
        var reloaded = Load(proxyProtocol: true);

        Assert.That(ConfigDiff.NeedingUpgrade(running, reloaded), Is.EqualTo(new[] { "listeners" }));
        Assert.That(ConfigDiff.NeedingUpgrade(running, Load(proxyProtocol: false)), Is.Empty);
    }

    private static PingoraConfig Load(bool proxyProtocol)
    {
        var result = ConfigLoader.Parse(
            $"listeners:\n  - address: 127.0.0.1:8080\n    proxy_protocol: {(proxyProtocol ? "true" : "false")}\n", "test.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        return result.Config!;
    }
}
