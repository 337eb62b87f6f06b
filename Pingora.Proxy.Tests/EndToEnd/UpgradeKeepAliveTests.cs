using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// Once the old instance has handed over, its keep-alive clients are asked to reconnect (Connection: close on their
/// next response) instead of having their connection closed under them while they may be sending a request.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeKeepAliveTests : PingoraTestBase
{
    [Test]
    public async Task A_keep_alive_client_of_the_old_instance_is_asked_to_reconnect_once_it_has_handed_over()
    {
        // A long close_timeout keeps the old instance accepting and serving while the test looks.
        var proxy = await StartProxyAsync(c => c.CloseTimeoutSeconds = 30);
        var predecessor = proxy.Pingora;
        // One connection, reused for every request.
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 });
        var status = proxy.Listener.Url("/status");

        using (var before = await client.GetAsync(status))
        {
            Assert.That(before.Headers.ConnectionClose, Is.Not.True, "keep-alive while serving normally");
        }
        var successor = await UpgradeAsync(predecessor, proxy.Config, UpgradeOrder.SuccessorFirst);

        // The pooled connection still goes to the old instance: its answer says which one and asks to close.
        using (var after = await client.GetAsync(status))
        {
            var body = await after.Content.ReadAsStringAsync();
            Assert.That(body, Does.Contain($"\"pid\":{predecessor.Pid}"), "the pooled connection reached the old instance");
            Assert.That(after.Headers.ConnectionClose, Is.True, () => "after the handoff: " + predecessor.LastLines());
        }
        Assert.That(predecessor.FindPhase("stop-accepting"), Is.Null, "still within close_timeout");
        // The client reconnects; new connections land on either process (both accept until close_timeout ends).
        using var next = await client.GetAsync(status);
        Assert.That((int)next.StatusCode, Is.EqualTo(200));
        Assert.That(successor.HasExited, Is.False);
    }
}
