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

    public EndPoint EndPoint { get; } = endpoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var listener = endpoint.Listener;
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
        while (true)
        {
            // Out of descriptors: wait here, with the connections in the kernel's queue, until some are free.
            try { await gate.WhenOpen(ended.Token); }
            catch (OperationCanceledException) { return null; }
            if (!listener.TryBeginAccept())
            {
                // Stopped: wait here rather than end Kestrel's accept loop, which cannot be restarted, so that a
                // handover's drain can resume accepting when the successor dies. Unbinding or closing ends the wait.
                if (!await WhenAcceptingAsync(listener, ended.Token)) return null;
                continue;
            }
            try
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ended.Token, listener.StopAcceptingToken);
                // Always async: a blocking accept would make any later close destroy the shared queue (docs/platform.md, socket 2).
                var socket = await listener.Wrapper.AcceptAsync(stop.Token);
                socket.NoDelay = true;
                gate.Accepted(listener.Address.ToString(), listener.Fd);
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
                gate.Exhausted(listener.Address.ToString(), e);
            }
            catch (SocketException e)
            {
                // Anything else: keep the loop alive (Kestrel stops accepting for good on an exception) without spinning.
                log.LogWarning("accept on {Address} failed: {Error}; retrying", listener.Address, e.Message);
                try { await Task.Delay(TimeSpan.FromMilliseconds(50), ended.Token); }
                catch (OperationCanceledException) { return null; }
            }
            finally
            {
                listener.EndAccept();
            }
        }
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
