using System.Net;
using System.Net.Sockets;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Ports for the daemon's listeners. The daemon needs fixed ports (port 0 cannot be handed over in an upgrade), so a
/// test asks the kernel for a free ephemeral port and passes it in the config. Ports are never handed out twice in
/// one test run, so a test that asserts "connection refused" after exit cannot hit another test's listener.
/// </summary>
public static class FreePort
{
    private static readonly HashSet<int> s_handedOut = [];
    private static readonly Lock s_lock = new();

    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (s_lock)
            {
                if (s_handedOut.Add(port)) return port;
            }
        }
        throw new InvalidOperationException("the kernel kept returning ports already handed out in this run");
    }

    /// <summary>A free port below 1024, which only root (or CAP_NET_BIND_SERVICE) can bind. Needs root itself.</summary>
    public static int NextPrivileged()
    {
        for (var port = 1023; port >= 600; port--)
        {
            lock (s_lock)
            {
                if (s_handedOut.Contains(port)) continue;
            }
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
            }
            catch (SocketException)
            {
                continue;
            }
            listener.Stop();
            lock (s_lock)
            {
                if (s_handedOut.Add(port)) return port;
            }
        }
        throw new InvalidOperationException("no free port between 600 and 1023");
    }
}
