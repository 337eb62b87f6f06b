// A TCP forwarder: each accepted connection gets its own upstream connection, and bytes are copied both ways as they
// come. It parses nothing, so it does less than any HTTP proxy can: on HTTP/1.1 keep-alive it makes the same four
// socket operations per request as pingora (client read, upstream write, upstream read, client write) and nothing
// else. usage: tcpsplice LISTEN_PORT UPSTREAM_PORT (both on 127.0.0.1)
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Pingora.Proxy.Hosting;

if (args.Length != 2 || !int.TryParse(args[0], out var listenPort) || !int.TryParse(args[1], out var upstreamPort))
{
    Console.Error.WriteLine("usage: tcpsplice LISTEN_PORT UPSTREAM_PORT");
    return 2;
}
InlineSocketCompletions.EnableUnlessSet();
var upstream = new IPEndPoint(IPAddress.Loopback, upstreamPort);
using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
// As pingora's ListenerBinder: SO_REUSEADDR alone (the proxy before it left TIME_WAIT connections on the port), set
// raw, since .NET's ReuseAddress sets SO_REUSEPORT too on Linux; TCP_NODELAY before listen(), inherited by each accept.
// (Native/Libc's values: compiling that file in would bring its P/Invokes and unsafe code for two numbers.)
const int SOL_SOCKET = 1, SO_REUSEADDR = 2;
listener.SetRawSocketOption(SOL_SOCKET, SO_REUSEADDR, BitConverter.GetBytes(1));
listener.NoDelay = true;
listener.Bind(new IPEndPoint(IPAddress.Loopback, listenPort));
listener.Listen(4096);
Console.WriteLine($"tcpsplice: 127.0.0.1:{listenPort} -> {upstream}");
while (true)
{
    var client = await listener.AcceptAsync();
    _ = Splice(client);
}

async Task Splice(Socket client)
{
    using var _ = client;
    using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    server.NoDelay = true;
    try
    {
        await server.ConnectAsync(upstream);
        await Task.WhenAll(Copy(client, server), Copy(server, client));
    }
    catch (Exception e) when (e is SocketException or ObjectDisposedException)
    {
        // A reset on either side ends both.
    }
}

// Until the source's FIN, which is passed on as one: HTTP/1.1 with Connection: close ends from the upstream's side.
static async Task Copy(Socket from, Socket to)
{
    var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    try
    {
        int read;
        while ((read = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
        to.Shutdown(SocketShutdown.Send);
    }
    catch (Exception e) when (e is SocketException or ObjectDisposedException)
    {
        from.Close();
        to.Close();
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
