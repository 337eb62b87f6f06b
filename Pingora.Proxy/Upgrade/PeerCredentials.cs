using System.Net.Sockets;
using System.Runtime.InteropServices;
using Pingora.Proxy.Native;
using Mono.Unix.Native;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// Who is at the other end of a Unix socket, as the kernel recorded it when the connection was made (SO_PEERCRED):
/// the peer cannot forge it.
/// </summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    /// <summary>Reads the credentials of the process connected to <paramref name="unixSocket"/>.</summary>
    public static PeerCredentials Of(Socket unixSocket)
    {
        ArgumentNullException.ThrowIfNull(unixSocket);
        if (unixSocket.AddressFamily != AddressFamily.Unix)
            throw new ArgumentException($"SO_PEERCRED needs a Unix socket, not {unixSocket.AddressFamily}", nameof(unixSocket));

        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three native-endian 32-bit fields (docs/platform.md, socket 7).
        Span<byte> ucred = stackalloc byte[12];
        var length = unixSocket.GetRawSocketOption(Libc.SOL_SOCKET, Libc.SO_PEERCRED, ucred);
        if (length != ucred.Length)
            throw new IOException($"getsockopt(SO_PEERCRED) returned {length} bytes, expected {ucred.Length}");
        return new PeerCredentials(
            MemoryMarshal.Read<int>(ucred),
            MemoryMarshal.Read<uint>(ucred[4..]),
            MemoryMarshal.Read<uint>(ucred[8..]));
    }

    /// <summary>The real uid of this process.</summary>
    public static uint CurrentUid => Syscall.getuid();

    /// <summary>
    /// Whether listeners may be exchanged with this peer, in either direction, by a process running as
    /// <paramref name="ownUid"/>: the peer runs as the same user, or as root. Anyone else who can reach the
    /// upgrade socket must neither be handed our listening sockets nor be allowed to plant theirs on our addresses.
    /// A successor started as root also trusts <paramref name="serviceUid"/>, the `user` its predecessor dropped to.
    /// </summary>
    public bool IsTrustedBy(uint ownUid, uint? serviceUid = null) => Uid == ownUid || Uid == 0 || Uid == serviceUid;

    public override string ToString() => $"pid {Pid}, uid {Uid}, gid {Gid}";
}
