using System.Net.Sockets;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Listeners;

/// <summary>Binds a fresh listening socket and returns it as a raw fd the registry owns.</summary>
internal static class ListenerBinder
{
    /// <summary>The kernel caps this at net.core.somaxconn; ask for plenty so bursts during an upgrade queue up.</summary>
    private const int Backlog = 4096;

    public static int Bind(ListenAddress address)
    {
        // Bind with a short-lived .NET socket, then keep a duplicate of its fd. The .NET socket never accepted, so
        // disposing it is a plain close of its own descriptor: no linger, no shutdown of the shared listen queue.
        using var socket = new Socket(address.Family, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR alone: rebinding right after a previous instance exited must not fail on TIME_WAIT
        // connections. Not .NET's ReuseAddress option: on Linux it sets SO_REUSEPORT too, and then a second instance
        // started by mistake would bind the same port silently and take a share of the traffic. Sharing a port is
        // what the upgrade handoff is for (docs/platform.md, socket 5).
        socket.SetRawSocketOption(Libc.SOL_SOCKET, Libc.SO_REUSEADDR, BitConverter.GetBytes(1));
        // "[::]:80" means IPv6 only, as in nginx, so that "0.0.0.0:80" can be a separate listener.
        if (address.Family == AddressFamily.InterNetworkV6) socket.DualMode = false;
        // Before listen(), so that every connection inherits it (ListenerSocket).
        socket.NoDelay = true;
        try
        {
            socket.Bind(address.EndPoint);
            socket.Listen(Backlog);
        }
        catch (SocketException e)
        {
            throw new ListenerException($"cannot listen on {address}: {e.Message}");
        }
        return Fds.DupCloseOnExec((int)socket.Handle);
    }
}

public sealed class ListenerException(string message) : Exception(message);
