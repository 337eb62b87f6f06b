using Mono.Unix;
using Mono.Unix.Native;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Files;

namespace Pingora.Proxy.Daemon;

/// <summary>
/// The unprivileged identity from <c>user</c> and <c>group</c>, and the one-way switch to it. The switch goes through
/// the libc wrappers, which change every thread of the process (a raw setuid syscall would change only one).
/// </summary>
public sealed record ServiceIdentity(string User, uint Uid, uint Gid, uint[] Groups)
{
    /// <summary>The configured identity, or null when neither user nor group is set.</summary>
    public static ServiceIdentity? Resolve(ServerConf server)
    {
        if (server.User is null && server.Group is null) return null;
        try
        {
            var user = server.User is null ? new UnixUserInfo(Syscall.getuid()) : new UnixUserInfo(server.User);
            var gid = server.Group is null ? (uint)user.GroupId : (uint)new UnixGroupInfo(server.Group).GroupId;
            // Supplementary groups as initgroups(3) sets them: the primary group and every group listing the user.
            var groups = Syscall.getgrouplist(user.UserName).Select(g => g.gr_gid).Prepend(gid).Distinct().ToArray();
            return new ServiceIdentity(user.UserName, (uint)user.UserId, gid, groups);
        }
        catch (ArgumentException e)
        {
            throw new IOException($"user/group: {e.Message}");
        }
    }

    public static bool IsRoot => Syscall.geteuid() == 0;

    public bool IsCurrent => Syscall.geteuid() == Uid && Syscall.getegid() == Gid;

    /// <summary>
    /// Gives <paramref name="path"/> to this identity, so the process can still use it after the drop. By descriptor,
    /// opened without following a symlink: a path the service user can write to may by now name another file.
    /// </summary>
    public void Own(string path, string key) => SafeFile.Chown(path, key, Uid, Gid);

    /// <summary>The owner <see cref="SafeFile.OpenAppend"/> gives a file to.</summary>
    public (uint Uid, uint Gid) Owner => (Uid, Gid);

    /// <summary>
    /// Switches to this identity for good: supplementary groups, then group, then user (after setuid the others
    /// are no longer allowed). Not being root is fine when already running as this identity.
    /// </summary>
    public void Assume()
    {
        if (IsCurrent) return;
        if (!IsRoot) throw new IOException($"cannot switch to user {User}: only root can, and this process runs as uid {Syscall.geteuid()}");
        if (Syscall.setgroups(Groups) != 0) throw new IOException($"setgroups: {Stdlib.GetLastError()}");
        if (Syscall.setgid(Gid) != 0) throw new IOException($"setgid({Gid}): {Stdlib.GetLastError()}");
        if (Syscall.setuid(Uid) != 0) throw new IOException($"setuid({Uid}): {Stdlib.GetLastError()}");
    }
}
