using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Whatever a crash left at upgrade_sock (a dead socket, or any regular file) does not block an upgrade.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeStaleSocketTests : PingoraTestBase
{
    public enum Leftover
    {
        RegularFile,
        DeadSocket,
    }

    [TestCase(Leftover.RegularFile, UpgradeOrder.SuccessorFirst)]
    [TestCase(Leftover.DeadSocket, UpgradeOrder.SuccessorFirst)]
    [TestCase(Leftover.RegularFile, UpgradeOrder.SignalFirst)]
    [TestCase(Leftover.DeadSocket, UpgradeOrder.SignalFirst)]
    public async Task A_stale_upgrade_sock_does_not_block_the_upgrade(Leftover leftover, UpgradeOrder order)
    {
        var proxy = await StartProxyAsync();
        if (leftover == Leftover.RegularFile) File.WriteAllText(proxy.Config.UpgradeSock, "left behind by a crash\n");
        else UnixSocketFile.CreateDead(proxy.Config.UpgradeSock);

        var successor = await UpgradeAsync(proxy.Pingora, proxy.Config, order);
        await AwaitPredecessorExitAsync(proxy.Pingora, proxy.Config);

        Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).Pid, Is.EqualTo(successor.Pid));
        AssertPidFileNames(proxy.Config, successor, "after the upgrade");
    }
}
