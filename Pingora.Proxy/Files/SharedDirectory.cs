using Mono.Unix.Native;

namespace Pingora.Proxy.Files;

/// <summary>
/// The directory a pid file, upgrade socket or log is created in. In a directory anyone may write to and that has no
/// sticky bit, anyone may also rename or delete what pingora put there and put something else in its place (a
/// symlink, their own socket), so such a directory is refused. /tmp (world-writable, sticky) is fine: there only the
/// owner of an entry can remove or rename it.
/// </summary>
internal static class SharedDirectory
{
    /// <param name="path">The file; its directory is checked.</param>
    /// <param name="key">The config key, for the error.</param>
    public static void Check(string path, string key)
    {
        if (Refusal(path, key) is { } reason) throw new IOException(reason);
    }

    /// <summary>Why <paramref name="path"/>'s directory is unsafe, or null when it is fine (or does not exist: the
    /// open that follows reports that).</summary>
    public static string? Refusal(string path, string key)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Syscall.stat(directory, out var stat) != 0) return null;
        var worldWritable = (stat.st_mode & FilePermissions.S_IWOTH) != 0;
        var sticky = (stat.st_mode & FilePermissions.S_ISVTX) != 0;
        return worldWritable && !sticky
            ? $"{key} {path}: directory {directory} is writable by every user and has no sticky bit, so anyone could " +
              $"replace what pingora creates there; use a directory only pingora's user can write (or chmod +t {directory})"
            : null;
    }
}
