using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Upgrade;
using Pingora.Proxy.Native;
using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Upgrade;

public enum PairKind
{
    /// <summary>Connected through a listener bound on a temporary path, as predecessor and successor are.</summary>
    Path,

    /// <summary>socketpair(2): fds .NET has never made non-blocking.</summary>
    SocketPair,
}

/// <summary>A connected pair of Unix stream sockets: the predecessor connects, the successor accepts.</summary>
internal sealed class UnixPair : IDisposable
{
    private UnixPair(Socket predecessor, Socket successor)
    {
        Predecessor = predecessor;
        Successor = successor;
    }

    public Socket Predecessor { get; }
    public Socket Successor { get; }

    public static Task<UnixPair> CreateAsync(PairKind kind) =>
        kind == PairKind.Path ? ConnectThroughPathAsync() : Task.FromResult(FromSocketPair());

    public static async Task<UnixPair> ConnectThroughPathAsync()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pgup-test-{Guid.NewGuid():N}.sock");
        // Disposing the listener deletes the path (docs/platform.md, socket 8); it is unique to this test.
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var accept = listener.AcceptAsync();
        var predecessor = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await predecessor.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(TestSockets.Bounded);
        var successor = await accept.WaitAsync(TestSockets.Bounded);
        return new UnixPair(predecessor, successor);
    }

    public static UnixPair FromSocketPair()
    {
        if (Syscall.socketpair(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_STREAM, UnixSocketFlags.SOCK_CLOEXEC, 0, out var first, out var second) != 0)
            throw new NativeCallException("socketpair", Stdlib.GetLastError());
        return new UnixPair(
            new Socket(new SafeSocketHandle(first, ownsHandle: true)),
            new Socket(new SafeSocketHandle(second, ownsHandle: true)));
    }

    public void Dispose()
    {
        Predecessor.Dispose();
        Successor.Dispose();
    }
}

internal static class TestSockets
{
    /// <summary>The bound on every wait in these tests that is expected to end promptly.</summary>
    public static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    /// <summary>A listening TCP socket on an ephemeral port of <paramref name="address"/>.</summary>
    public static Socket ListenTcp(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
            socket.Listen(16);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Binds [::1], or ignores the test, visibly, with the reason IPv6 loopback is not usable here.</summary>
    public static Socket ListenTcpIPv6OrIgnore()
    {
        if (!Socket.OSSupportsIPv6) Assert.Ignore("IPv6 is not supported by this OS; the [::1] listener was not tested");
        try
        {
            return ListenTcp(IPAddress.IPv6Loopback);
        }
        catch (SocketException e)
        {
            Assert.Ignore($"IPv6 loopback [::1] is unavailable here ({e.SocketErrorCode}: {e.Message}); the [::1] listener was not tested");
            throw; // unreachable: Assert.Ignore throws
        }
    }

    public static int FdOf(Socket socket) => (int)socket.Handle;

    public static IPEndPoint EndPointOf(Socket listener) => (IPEndPoint)listener.LocalEndPoint!;

    public static bool HasCloexec(int fd)
    {
        Assert.That(Fds.IsOpen(fd), Is.True, $"fcntl(F_GETFD) on fd {fd}: {Stdlib.GetLastError()}");
        return Fds.IsCloseOnExec(fd);
    }

    public static int Dup(int fd) => Fds.DupCloseOnExec(fd);

    /// <summary>
    /// Proves <paramref name="receivedFd"/> is the listening socket the original <paramref name="endPoint"/> belongs
    /// to: a client connects to the original address and the connection is accepted through the received fd.
    /// </summary>
    public static async Task AssertAcceptsConnectionsToAsync(int receivedFd, IPEndPoint endPoint)
    {
        // Non-owning: disposing it must neither close nor shut down the fd (docs/platform.md, socket 3).
        using var wrapper = new Socket(new SafeSocketHandle(receivedFd, ownsHandle: false));
        Assert.That(wrapper.LocalEndPoint, Is.EqualTo(endPoint), "the received fd listens on the original address");

        using var cts = new CancellationTokenSource(Bounded);
        var accept = wrapper.AcceptAsync(cts.Token).AsTask();
        using var client = new TcpClient(endPoint.AddressFamily);
        await client.ConnectAsync(endPoint, cts.Token);
        using var accepted = await accept.WaitAsync(Bounded);
        Assert.That(accepted.RemoteEndPoint, Is.EqualTo(client.Client.LocalEndPoint),
            "the connection made to the original port came out of the received fd");
    }

    /// <summary>
    /// Proves the last reference to a listening socket is gone: once every fd for it is closed, the kernel stops
    /// listening and a connect is refused. Used to show that fds received and then rejected were closed.
    /// </summary>
    public static async Task AssertNothingListensOnAsync(IPEndPoint endPoint)
    {
        using var client = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(Bounded);
        try
        {
            await client.ConnectAsync(endPoint, cts.Token);
            Assert.Fail($"{endPoint} still accepts connections: an fd for the listening socket was leaked");
        }
        catch (SocketException e)
        {
            Assert.That(e.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        }
    }
}
