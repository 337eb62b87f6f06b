using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Mono.Unix.Native;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Files;

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
        SharedDirectory.Check(path, "upgrade_sock");
        // A file left by a successor that died, a squatter's socket, or anything else at that path would block the bind.
        DeleteIfPresent(path);
        // Bind inside a new directory only this process can enter (mkdir never follows a planted name), set mode and
        // owner there, and rename into place: the socket is never connectable under the public name with looser
        // permissions, and nobody can swap the entry for a symlink between the bind and the chmod/chown by path.
        var staging = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        var staged = Path.Combine(staging, "s");
        if (Encoding.UTF8.GetByteCount(staged) > 107)
            throw new UpgradeException($"cannot listen on upgrade_sock {path}: its directory's path is too long to stage the socket in (at most 95 bytes)");
        if (Syscall.mkdir(staging, FilePermissions.S_IRWXU) != 0)
            throw new UpgradeException($"cannot listen on upgrade_sock {path}: mkdir {staging}: {Stdlib.GetLastError()}");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(staged));
            if (Syscall.chmod(staged, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR) != 0)
                throw new IOException($"chmod: {Stdlib.GetLastError()}");
            if (identity is not null && ServiceIdentity.IsRoot && Syscall.lchown(staged, identity.Uid, identity.Gid) != 0)
                throw new IOException($"cannot give it to {identity.User}: {Stdlib.GetLastError()}");
            socket.Listen(4);
            if (Syscall.rename(staged, path) != 0) throw new IOException($"rename: {Stdlib.GetLastError()}");
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new UpgradeException($"cannot listen on upgrade_sock {path}: {e.Message}");
        }
        finally
        {
            Syscall.unlink(staged);
            Syscall.rmdir(staging);
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
