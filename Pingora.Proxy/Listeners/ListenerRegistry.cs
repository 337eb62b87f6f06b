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

    public IReadOnlyList<ListenerSocket> Listeners => _listeners;

    /// <summary>
    /// Adopts the inherited fds whose address this configuration still has and binds the others. Inherited fds the
    /// configuration no longer names are kept open until <see cref="ReleaseUnused"/>: until the upgrade commits,
    /// the predecessor may still need them.
    /// </summary>
    public static ListenerRegistry Acquire(IEnumerable<ListenAddress> wanted, IReadOnlyDictionary<ListenAddress, int>? inherited = null)
    {
        var registry = new ListenerRegistry();
        var left = inherited is null ? new Dictionary<ListenAddress, int>() : new Dictionary<ListenAddress, int>(inherited);
        try
        {
            foreach (var address in wanted)
            {
                if (left.Remove(address, out var fd))
                    registry._listeners.Add(new ListenerSocket(address, fd, ListenerOrigin.Adopted));
                else
                    registry._listeners.Add(new ListenerSocket(address, ListenerBinder.Bind(address), ListenerOrigin.Bound));
            }
        }
        catch
        {
            registry.CloseAllAsync().GetAwaiter().GetResult(); // nothing accepted yet: completes at once
            foreach (var fd in left.Values) Syscall.close(fd);
            throw;
        }
        registry._inheritedUnused.AddRange(left.Values);
        return registry;
    }

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

    public async Task CloseAllAsync()
    {
        await Task.WhenAll(_listeners.Select(l => l.CloseAsync()));
        ReleaseUnused();
    }
}
