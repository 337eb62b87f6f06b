using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Either side may start the upgrade; all listeners, plain and TLS, are handed over.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeOrderTests : PingoraTestBase
{
    [TestCase(UpgradeOrder.SignalFirst)]
    [TestCase(UpgradeOrder.SuccessorFirst)]
    public async Task The_successor_takes_over_every_listener(UpgradeOrder order)
    {
        var proxy = await StartProxyAsync(withTls: true);
        var predecessor = proxy.Pingora;
        var plainClient = NewClient();
        var tlsClient = NewClient(proxy.TlsListener!.Tls);
        Assert.That((await plainClient.GetStatusAsync(proxy.Listener.Url("/status"))).Pid, Is.EqualTo(predecessor.Pid));
        Assert.That((await tlsClient.GetStatusAsync(proxy.TlsListener.Url("/status"))).Pid, Is.EqualTo(predecessor.Pid));

        var successor = await UpgradeAsync(predecessor, proxy.Config, order);
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);

        // Fresh clients: pooled connections to the old process are gone with it anyway.
        plainClient = NewClient();
        tlsClient = NewClient(proxy.TlsListener.Tls);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((await plainClient.GetStatusAsync(proxy.Listener.Url("/status"))).Pid, Is.EqualTo(successor.Pid), "plain listener");
            Assert.That((await tlsClient.GetStatusAsync(proxy.TlsListener.Url("/status"))).Pid, Is.EqualTo(successor.Pid), "TLS listener");
            Assert.That((await plainClient.GetEchoAsync(proxy.Listener.Url("/echo/after"))).Backend, Is.EqualTo("A"));
            Assert.That((await tlsClient.GetEchoAsync(proxy.TlsListener.Url("/echo/after"))).Backend, Is.EqualTo("A"));
        }
        AssertPidFileNames(proxy.Config, successor, "after the upgrade");
    }
}
