using System.Net;
using NUnit.Framework;
using Pingora.Proxy.Upgrade;
using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Upgrade;

public class PeerCredentialsTests
{
    [TestCase(PairKind.Path)]
    [TestCase(PairKind.SocketPair)]
    public async Task APeerInThisProcessHasThisProcesssPidUidAndGid(PairKind kind)
    {
        using var pair = await UnixPair.CreateAsync(kind);

        var peer = PeerCredentials.Of(pair.Successor);

        Assert.That(peer, Is.EqualTo(new PeerCredentials(Environment.ProcessId, Syscall.getuid(), Syscall.getgid())));
        Assert.That(PeerCredentials.Of(pair.Predecessor), Is.EqualTo(peer));
        Assert.That(PeerCredentials.CurrentUid, Is.EqualTo(Syscall.getuid()));
        Assert.That(peer.IsTrustedBy(PeerCredentials.CurrentUid), Is.True);
    }

    [TestCase(1000u, 1000u, ExpectedResult = true)]
    [TestCase(0u, 1000u, ExpectedResult = true)]
    [TestCase(0u, 0u, ExpectedResult = true)]
    [TestCase(1001u, 1000u, ExpectedResult = false)]
    [TestCase(1000u, 0u, ExpectedResult = false)]
    public bool OnlyTheSameUserOrRootIsTrusted(uint peerUid, uint ownUid) =>
        new PeerCredentials(123, peerUid, 50).IsTrustedBy(ownUid);

    [Test]
    public void NeedsAUnixSocket()
    {
        using var tcp = TestSockets.ListenTcp(IPAddress.Loopback);

        Assert.Throws<ArgumentException>(() => PeerCredentials.Of(tcp));
    }
}
