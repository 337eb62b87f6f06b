using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Tests.Listeners;

[TestFixture]
public sealed class ListenerRegistryTests
{
    private readonly List<ListenerRegistry> _registries = [];

    [TearDown]
    public async Task CloseRegistries()
    {
        foreach (var registry in _registries) await registry.CloseAllAsync();
    }

    private ListenerRegistry Acquire(IEnumerable<ListenAddress> wanted, IReadOnlyDictionary<ListenAddress, int>? inherited = null)
    {
        var registry = ListenerRegistry.Acquire(wanted, inherited);
        _registries.Add(registry);
        return registry;
    }

    private static ListenAddress FreeLoopback()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return new ListenAddress((IPEndPoint)probe.LocalEndpoint);
    }

    [Test]
    public async Task A_bound_listener_accepts_through_the_registry_wrapper_after_the_binding_socket_is_gone()
    {
        var address = FreeLoopback();
        var listener = Acquire([address]).Listeners.Single();
        Assert.That((listener.Origin, listener.Address), Is.EqualTo((ListenerOrigin.Bound, address)));

        // The .NET socket that bound the port was disposed inside Bind; the registry's own fd keeps it listening.
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(address.EndPoint);
        using var accepted = await listener.Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(accepted.RemoteEndPoint, Is.EqualTo(client.Client.LocalEndPoint));
    }

    [Test]
    public async Task A_bound_listener_gives_every_accepted_socket_no_delay()
    {
        var listener = Acquire([FreeLoopback()]).Listeners.Single();
        Assert.That(listener.AcceptedHaveNoDelay, Is.True);

        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(listener.Address.EndPoint);
        using var accepted = await listener.Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(accepted.NoDelay, Is.True, "inherited from the listener: Nagle would hold small responses back");
    }

    [Test]
    public async Task An_adopted_listener_without_no_delay_is_marked_and_given_it_for_later_connections()
    {
        // As a predecessor of an older build hands it over: no TCP_NODELAY on the fd, and a connection already queued.
        var address = FreeLoopback();
        using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        plain.Bind(address.EndPoint);
        plain.Listen();
        using var early = new TcpClient(AddressFamily.InterNetwork);
        await early.ConnectAsync(address.EndPoint);

        var listener = Acquire([address], new Dictionary<ListenAddress, int> { [address] = Fds.DupCloseOnExec((int)plain.Handle) })
            .Listeners.Single();
        Assert.That(listener.AcceptedHaveNoDelay, Is.False, "so the accept path sets it on each connection");
        using (var queued = await listener.Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5)))
            Assert.That(queued.NoDelay, Is.False, "queued before adoption: the listener's option does not reach it");

        using var late = new TcpClient(AddressFamily.InterNetwork);
        await late.ConnectAsync(address.EndPoint);
        using var accepted = await listener.Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(accepted.NoDelay, Is.True, "the fd has it now, for later connections and the next successor");
    }

    [Test]
    public void An_adopted_listener_with_no_delay_needs_nothing_per_accept()
    {
        var address = FreeLoopback();
        var donor = Acquire([address]);
        var inherited = new Dictionary<ListenAddress, int> { [address] = Fds.DupCloseOnExec(donor.Listeners[0].Fd) };
        Assert.That(Acquire([address], inherited).Listeners.Single().AcceptedHaveNoDelay, Is.True);
    }

    [Test]
    public void Binding_an_address_in_use_names_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var address = new ListenAddress((IPEndPoint)taken.LocalEndpoint);
        var error = Assert.Throws<ListenerException>(() => ListenerRegistry.Acquire([address]));
        Assert.That(error!.Message, Does.StartWith($"cannot listen on {address}:").And.Contain("in use"));
    }

    [Test]
    public void A_second_instance_cannot_bind_an_address_a_first_one_listens_on()
    {
        var address = FreeLoopback();
        Acquire([address]);
        var error = Assert.Throws<ListenerException>(() => ListenerRegistry.Acquire([address]));
        Assert.That(error!.Message, Does.Contain("in use"), "only the upgrade handoff may share a listening socket");
    }

    [Test]
    public async Task Inherited_fds_are_adopted_by_address_and_unused_ones_kept_until_released()
    {
        var kept = FreeLoopback();
        var dropped = FreeLoopback();
        var fresh = FreeLoopback();
        var donor = Acquire([kept, dropped]);
        var inherited = donor.Listeners.ToDictionary(l => l.Address, l => Fds.DupCloseOnExec(l.Fd));
        var droppedFd = inherited[dropped];

        var registry = Acquire([kept, fresh], inherited);
        Assert.That(registry.Listeners.Select(l => (l.Address, l.Origin)),
            Is.EqualTo(new[] { (kept, ListenerOrigin.Adopted), (fresh, ListenerOrigin.Bound) }));
        Assert.That(registry.Listeners[0].Fd, Is.EqualTo(inherited[kept]));
        Assert.That(Fds.IsOpen(droppedFd), Is.True, "unused inherited fd stays open until the upgrade commits");

        Assert.That(registry.ReleaseUnused(), Is.EqualTo(1));
        Assert.That(Fds.IsOpen(droppedFd), Is.False, "released");

        // The adopted fd is the same listening socket: a connection to the donor's port is accepted through it.
        using var client = new TcpClient();
        await client.ConnectAsync(kept.EndPoint);
        using var accepted = await registry.Listeners[0].Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(accepted.Connected, Is.True);
    }

    [Test]
    public async Task Closing_the_sole_holder_refuses_new_connections_but_a_second_holder_keeps_the_queue()
    {
        var address = FreeLoopback();
        var first = Acquire([address]);
        var second = Acquire([address], new Dictionary<ListenAddress, int> { [address] = Fds.DupCloseOnExec(first.Listeners[0].Fd) });

        await first.CloseAllAsync();
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(address.EndPoint);
            using var accepted = await second.Listeners[0].Wrapper.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.That(accepted.Connected, Is.True, "the other holder still accepts from the same queue");
        }

        await second.CloseAllAsync();
        using var late = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => late.ConnectAsync(address.EndPoint));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public async Task Stopping_ends_a_pending_accept_and_later_accepts_at_once()
    {
        var listener = Acquire([FreeLoopback()]).Listeners[0];
        Assert.That(listener.TryBeginAccept(), Is.True);
        var pending = listener.Wrapper.AcceptAsync(listener.StopAcceptingToken).AsTask();
        var stopped = listener.StopAcceptingAsync();
        Assert.That(stopped.IsCompleted, Is.False, "an accept is still pending");

        await Assert.CatchAsync<OperationCanceledException>(() => pending);
        listener.EndAccept();
        await stopped.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(listener.TryBeginAccept(), Is.False, "no accept begins after stopping");
    }
}
