using Mono.Unix.Native;

namespace Pingora.Proxy.Listeners;

/// <summary>
/// Every listening socket of this process, by normalized address. Each is bound fresh, or adopted from an fd a
/// predecessor handed over. The registry owns the raw fds for the life of the process; Kestrel gets non-owning
/// views through <see cref="RegistryEndPoint"/>.
/// </summary>
public sealed class ListenerRegistry
{
    private readonly List<ListenerSocket> _listeners = [];
    private readonly List<int> _inheritedUnused = [];

    /// <summary>The public listeners: Kestrel's proxy serves them, and a drain closes them.</summary>
    public IReadOnlyList<ListenerSocket> Listeners => _listeners;

    /// <summary>The admin listener (<c>admin_listener</c>), if any: served by Admin/, closed by <see cref="CloseAdminAsync"/>
    /// rather than by the drain, so that /ready can answer 503 while a SIGTERM drain runs.</summary>
    public ListenerSocket? Admin { get; private set; }

    /// <summary>What an upgrade hands over: every listener, the admin one included.</summary>
    public IReadOnlyList<ListenerSocket> Handed => Admin is null ? _listeners : [.. _listeners, Admin];

    /// <summary>
    /// Adopts the inherited fds whose address this configuration still has and binds the others. Inherited fds the
    /// configuration no longer names are kept open until <see cref="ReleaseUnused"/>: until the upgrade commits,
    /// the predecessor may still need them.
    /// </summary>
    public static ListenerRegistry Acquire(IEnumerable<ListenAddress> wanted, IReadOnlyDictionary<ListenAddress, int>? inherited = null,
        ListenAddress? admin = null)
    {
        var registry = new ListenerRegistry();
        var left = inherited is null ? new Dictionary<ListenAddress, int>() : new Dictionary<ListenAddress, int>(inherited);
        try
        {
            foreach (var address in wanted) registry._listeners.Add(AdoptOrBind(address, left));
            if (admin is not null) registry.Admin = AdoptOrBind(admin, left);
        }
        catch
        {
            registry.CloseAllAsync().GetAwaiter().GetResult(); // nothing accepted yet: completes at once
            registry.CloseAdminAsync().GetAwaiter().GetResult();
            foreach (var fd in left.Values) Syscall.close(fd);
            throw;
        }
        registry._inheritedUnused.AddRange(left.Values);
        return registry;
    }

    private static ListenerSocket AdoptOrBind(ListenAddress address, Dictionary<ListenAddress, int> inherited) =>
        inherited.Remove(address, out var fd)
            ? new ListenerSocket(address, fd, ListenerOrigin.Adopted)
            : new ListenerSocket(address, ListenerBinder.Bind(address), ListenerOrigin.Bound);

    /// <summary>Closes inherited fds that no listener uses; call once the handoff has committed.</summary>
    public int ReleaseUnused()
    {
        var count = _inheritedUnused.Count;
        foreach (var fd in _inheritedUnused) Syscall.close(fd);
        _inheritedUnused.Clear();
        return count;
    }

    /// <summary>Stops accepting on every listener but keeps the fds: after a handoff this process may need them back
    /// (its successor dies before this process has drained), and the kernel queues for whoever accepts.</summary>
    public Task StopAcceptingAsync() => Task.WhenAll(_listeners.Select(l => l.StopAcceptingAsync()));

    /// <summary>Accepting again on every listener still open; returns how many.</summary>
    public int ResumeAccepting() => _listeners.Count(l => l.ResumeAccepting() || l.IsAccepting);

    /// <summary>Closes the public listeners (and inherited fds no listener uses); not the admin listener.</summary>
    public async Task CloseAllAsync()
    {
        await Task.WhenAll(_listeners.Select(l => l.CloseAsync()));
        ReleaseUnused();
    }

    public Task CloseAdminAsync() => Admin?.CloseAsync() ?? Task.CompletedTask;
}
