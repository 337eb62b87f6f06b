using System.Net.Sockets;
using Mono.Unix.Native;

namespace Pingora.Proxy.Listeners;

public enum ListenerOrigin { Bound, Adopted }

/// <summary>
/// One listening socket the daemon owns as a raw fd. The fd may be shared with a predecessor or successor process,
/// so .NET only ever sees it through one non-owning wrapper, created once for the life of the process: an owning
/// Socket disposed by Kestrel would set SO_LINGER 0 on the shared socket (docs/platform.md, socket 1), and a second
/// wrapper of the same fd fails in epoll with EEXIST (socket 4).
/// </summary>
public sealed class ListenerSocket
{
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly object _gate = new();
    private int _pendingAccepts;
    private TaskCompletionSource? _acceptsEnded;
    private int _closed;

    public ListenerSocket(ListenAddress address, int fd, ListenerOrigin origin)
    {
        Address = address;
        Fd = fd;
        Origin = origin;
        Wrapper = new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: false));
    }

    public ListenAddress Address { get; }
    public int Fd { get; }
    public ListenerOrigin Origin { get; }

    /// <summary>The only .NET view of this fd. Never dispose it while accepts may be pending.</summary>
    public Socket Wrapper { get; }

    /// <summary>Cancelled once the daemon stops accepting here; accept loops end on it.</summary>
    public CancellationToken StopAcceptingToken => _stopAccepting.Token;
    public bool IsAccepting => !_stopAccepting.IsCancellationRequested;

    public void StopAccepting() => _stopAccepting.Cancel();

    /// <summary>Brackets one accept call, so that closing can wait until none is pending.</summary>
    public bool TryBeginAccept()
    {
        lock (_gate)
        {
            if (!IsAccepting) return false;
            _pendingAccepts++;
            return true;
        }
    }

    public void EndAccept()
    {
        lock (_gate)
        {
            if (--_pendingAccepts == 0) _acceptsEnded?.TrySetResult();
        }
    }

    /// <summary>Stops accepting and completes once no accept is pending on this socket.</summary>
    public Task StopAcceptingAsync()
    {
        StopAccepting();
        lock (_gate)
        {
            if (_pendingAccepts == 0) return Task.CompletedTask;
            _acceptsEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _acceptsEnded.Task;
        }
    }

    /// <summary>
    /// Stops accepting, waits for pending accepts to end, and closes this process's descriptor. The listening socket
    /// itself lives on while another process holds it (a successor keeps the kernel's accept queue); with no other
    /// holder, new connection attempts are refused from here on.
    /// </summary>
    public async Task CloseAsync()
    {
        await StopAcceptingAsync();
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Wrapper.Dispose(); // non-owning: unregisters from the socket engine, never shuts down, lingers or closes
        Syscall.close(Fd);
    }
}
