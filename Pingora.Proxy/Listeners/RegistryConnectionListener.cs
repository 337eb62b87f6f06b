using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Pingora.Proxy.Descriptors;

namespace Pingora.Proxy.Listeners;

/// <summary>
/// Kestrel's accept loop over a registry socket. Unbinding or disposing only ends the accepts: the fd belongs to the
/// registry and may be shared with another process, so this class never closes, shuts down or lingers it.
/// </summary>
internal sealed class RegistryConnectionListener(RegistryEndPoint endpoint, SocketConnectionContextFactory connections, AcceptGate gate, ILogger log)
    : IConnectionListener
{
    private readonly CancellationTokenSource _unbound = new();
    // The accept's cancellation (unbound, or the listener stopped accepting), linked once per stop-accepting token
    // rather than once per accept: two linked sources per connection were a measurable part of the accept path.
    // Kestrel runs one accept loop per listener, so only that loop touches these.
    private CancellationToken _linkedFor;
    private CancellationTokenSource? _linked;

    public EndPoint EndPoint { get; } = endpoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var listener = endpoint.Listener;
        // Kestrel's accept loop passes no token; a caller that does still gets it honoured, at a link per call.
        using var callerLink = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token)
            : null;
        var ended = callerLink?.Token ?? _unbound.Token;
        while (true)
        {
            // Out of descriptors: wait here, with the connections in the kernel's queue, until some are free.
            try { await gate.WhenOpen(ended); }
            catch (OperationCanceledException) { return null; }
            if (!listener.TryBeginAccept())
            {
                // Stopped: wait here rather than end Kestrel's accept loop, which cannot be restarted, so that a
                // handover's drain can resume accepting when the successor dies. Unbinding or closing ends the wait.
                if (!await WhenAcceptingAsync(listener, ended)) return null;
                continue;
            }
            CancellationTokenSource? perCall = null;
            try
            {
                perCall = callerLink is null ? null : CancellationTokenSource.CreateLinkedTokenSource(ended, listener.StopAcceptingToken);
                // Always async: a blocking accept would make any later close destroy the shared queue (docs/platform.md, socket 2).
                var socket = await listener.Wrapper.AcceptAsync(perCall?.Token ?? Linked(listener.StopAcceptingToken));
                if (!listener.AcceptedHaveNoDelay) socket.NoDelay = true;
                gate.Accepted(listener.Name, listener.Fd);
                return connections.Create(socket);
            }
            catch (OperationCanceledException) when (!ended.IsCancellationRequested)
            {
                // Stopped accepting: back to the top, to wait for a resume.
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The client gave up while queued; nothing to serve.
            }
            catch (SocketException e) when (AcceptGate.IsExhaustion(e))
            {
                // EMFILE/ENFILE/ENOBUFS: the connection waits in the queue. No Task.Delay here: a timer may need a
                // thread, and a thread a descriptor; the gate pauses every listener and frees its reserve first.
                gate.Exhausted(listener.Name, e);
            }
            catch (SocketException e)
            {
                // Anything else: keep the loop alive (Kestrel stops accepting for good on an exception) without spinning.
                log.LogWarning("accept on {Address} failed: {Error}; retrying", listener.Address, e.Message);
                try { await Task.Delay(TimeSpan.FromMilliseconds(50), ended); }
                catch (OperationCanceledException) { return null; }
            }
            finally
            {
                perCall?.Dispose();
                listener.EndAccept();
            }
        }
    }

    /// <summary>Unbound or stopped accepting; relinked only when a resume replaced the listener's token.</summary>
    private CancellationToken Linked(CancellationToken stopAccepting)
    {
        if (_linked is null || _linkedFor != stopAccepting)
        {
            _linked?.Dispose();
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_unbound.Token, stopAccepting);
            _linkedFor = stopAccepting;
        }
        return _linked.Token;
    }

    private static async Task<bool> WhenAcceptingAsync(ListenerSocket listener, CancellationToken ended)
    {
        try
        {
            return await listener.WhenAcceptingAsync().WaitAsync(ended);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound.Cancel();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _unbound.Cancel();
        return ValueTask.CompletedTask;
    }
}
