using System.Net.Sockets;
using Pingora.Proxy.Daemon;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The successor's end of <c>upgrade_sock</c>: a Unix socket only this user (and root) can connect to, because
/// whoever connects is handed nothing but whoever it connects to is handed every listening socket.
/// </summary>
internal static class UpgradeSocket
{
    /// <param name="identity">When set, the socket is given to it: a predecessor that dropped to it must connect.</param>
    public static Socket Listen(string path, ServiceIdentity? identity)
    {
        // A file left by a successor that died, or anything else at that path, would block the bind.
        DeleteIfPresent(path);
        // Bind under a private name and rename into place once the mode is 0600, so the socket is never
        // connectable under the public name with looser permissions.
        var staging = $"{path}.{Environment.ProcessId}.tmp";
        DeleteIfPresent(staging);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(staging));
            File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            identity?.Own(staging);
            socket.Listen(4);
            File.Move(staging, path, overwrite: true);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            DeleteIfPresent(staging);
            throw new UpgradeException($"cannot listen on upgrade_sock {path}: {e.Message}");
        }
        return socket;
    }

    public static void DeleteIfPresent(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UpgradeException($"cannot remove {path}: {e.Message}");
        }
    }
}
