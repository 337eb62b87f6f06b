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
    private readonly object _gate = new();
    // Replaced on resume: a paused socket (a handover's drain) may be resumed when the successor dies.
    private CancellationTokenSource _stopAccepting = new();
    private TaskCompletionSource<bool> _resumed = NewResumed();
    private int _pendingAccepts;
    private TaskCompletionSource? _acceptsEnded;
    private int _closed;

    public ListenerSocket(ListenAddress address, int fd, ListenerOrigin origin)
    {
        Address = address;
        Name = address.ToString();
        Fd = fd;
        Origin = origin;
        Wrapper = new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: false));
        // Linux copies TCP_NODELAY from the listening socket to each connection as its handshake completes, so set
        // on the listener it saves a system call per accept. ListenerBinder sets it before listen(). A predecessor of
        // an older build set it per accept instead: the connections already queued on its fd lack it, so this
        // process sets it on each connection it accepts there, and on the fd for whoever comes next.
        AcceptedHaveNoDelay = origin == ListenerOrigin.Bound || Wrapper.NoDelay;
        if (!AcceptedHaveNoDelay) Wrapper.NoDelay = true;
    }

    public ListenAddress Address { get; }

    /// <summary>The address as text, formatted once: the accept path names its listener on every connection.</summary>
    public string Name { get; }
    public int Fd { get; }
    public ListenerOrigin Origin { get; }

    /// <summary>Whether every connection accepted here has TCP_NODELAY from the listener (see the constructor).</summary>
    public bool AcceptedHaveNoDelay { get; }

    /// <summary>The only .NET view of this fd. Never dispose it while accepts may be pending.</summary>
    public Socket Wrapper { get; }

    /// <summary>Cancelled once the daemon stops (or pauses) accepting here; a pending accept ends on it.</summary>
    public CancellationToken StopAcceptingToken
    {
        get { lock (_gate) return _stopAccepting.Token; }
    }

    public bool IsAccepting
    {
        get { lock (_gate) return !_stopAccepting.IsCancellationRequested; }
    }

    public void StopAccepting()
    {
        CancellationTokenSource stop;
        lock (_gate) stop = _stopAccepting;
        stop.Cancel(); // outside the lock: it runs the pending accept's cancellation inline
    }

    /// <summary>
    /// Accepting again after <see cref="StopAcceptingAsync"/>, as long as the fd is open: the listening socket never
    /// went away, and connections that arrived meanwhile wait in its queue. False when closed, or not stopped.
    /// </summary>
    public bool ResumeAccepting()
    {
        TaskCompletionSource<bool> resumed;
        lock (_gate)
        {
            if (_closed != 0 || !_stopAccepting.IsCancellationRequested) return false;
            _stopAccepting = new CancellationTokenSource();
            resumed = _resumed;
            _resumed = NewResumed();
        }
        resumed.TrySetResult(true);
        return true;
    }

    /// <summary>True once accepting resumes (at once if it never stopped), false once the fd is closed.</summary>
    public Task<bool> WhenAcceptingAsync()
    {
        lock (_gate)
        {
            if (_closed != 0) return Task.FromResult(false);
            return _stopAccepting.IsCancellationRequested ? _resumed.Task : Task.FromResult(true);
        }
    }

    /// <summary>Brackets one accept call, so that closing can wait until none is pending.</summary>
    public bool TryBeginAccept()
    {
        lock (_gate)
        {
            if (_stopAccepting.IsCancellationRequested) return false;
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

    /// <summary>Stops accepting and completes once no accept is pending on this socket. The fd stays open, so the
    /// kernel keeps queueing connections: <see cref="ResumeAccepting"/> takes them, or another process does.</summary>
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

    private static TaskCompletionSource<bool> NewResumed() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Stops accepting, waits for pending accepts to end, and closes this process's descriptor. The listening socket
    /// itself lives on while another process holds it (a successor keeps the kernel's accept queue); with no other
    /// holder, new connection attempts are refused from here on.
    /// </summary>
    public async Task CloseAsync()
    {
        await StopAcceptingAsync();
        TaskCompletionSource<bool> resumed;
        lock (_gate)
        {
            if (_closed != 0) return;
            _closed = 1;
            resumed = _resumed;
        }
        resumed.TrySetResult(false);
        Wrapper.Dispose(); // non-owning: unregisters from the socket engine, never shuts down, lingers or closes
        Syscall.close(Fd);
    }
}
