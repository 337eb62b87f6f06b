using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Pingora.Proxy.Files;

/// <summary>
/// Opens and creates the daemon's files (pid file, error_log) in directories other users may write to (/tmp, a
/// directory the service user owns) without following what someone planted there. Root would otherwise truncate or
/// append to whatever a symlink names, and hand it to the service user. Every file is created with
/// O_CREAT|O_EXCL|O_NOFOLLOW, an existing one is opened with O_NOFOLLOW and must be a regular file with one link,
/// and ownership is changed on the descriptor, never by path.
/// </summary>
internal static class SafeFile
{
    private const FilePermissions LogMode = FilePermissions.S_IRUSR | FilePermissions.S_IWUSR | FilePermissions.S_IRGRP;

    /// <summary>
    /// An append-only descriptor on the log at <paramref name="path"/>, created if missing (0640).
    /// <paramref name="key"/> names the config key in errors.
    /// </summary>
    /// <param name="owner">When set (and running as root), the file is given to it through the descriptor.</param>
    public static SafeFileHandle OpenAppend(string path, string key, (uint Uid, uint Gid)? owner = null)
    {
        SharedDirectory.Check(path, key);
        // O_NONBLOCK: a FIFO planted at the path must fail the open (ENXIO) or the check below, not block the start.
        const OpenFlags flags = OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK;
        for (var attempt = 0; ; attempt++)
        {
            var fd = Syscall.open(path, flags);
            if (fd < 0 && Stdlib.GetLastError() == Errno.ENOENT)
            {
                fd = Syscall.open(path, flags | OpenFlags.O_CREAT | OpenFlags.O_EXCL, LogMode);
                // Created by someone else between the two opens: open what is there now, with the same checks.
                if (fd < 0 && Stdlib.GetLastError() == Errno.EEXIST && attempt < 3) continue;
            }
            if (fd < 0) throw OpenError(path, key, Stdlib.GetLastError());
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            try
            {
                CheckRegular(handle, path, key);
                if (owner is { } o) Chown(handle, path, key, o.Uid, o.Gid);
                return handle;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// A new file beside <paramref name="path"/> under an unpredictable name, created with O_EXCL|O_NOFOLLOW so that
    /// nothing planted under a guessed name is ever opened. Returns the descriptor and the name.
    /// </summary>
    public static (SafeFileHandle Handle, string Path) CreateTemporary(string path, string key, FilePermissions mode)
    {
        SharedDirectory.Check(path, key);
        for (var attempt = 0; ; attempt++)
        {
            var temp = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp";
            var fd = Syscall.open(temp, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, mode);
            if (fd >= 0) return (new SafeFileHandle(fd, ownsHandle: true), temp);
            var errno = Stdlib.GetLastError();
            if (errno != Errno.EEXIST || attempt >= 3) throw OpenError(temp, key, errno);
        }
    }

    /// <summary>Gives an existing file or directory to uid/gid: opened without following a symlink, then fchown.</summary>
    public static void Chown(string path, string key, uint uid, uint gid)
    {
        var fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
        if (fd < 0) throw OpenError(path, key, Stdlib.GetLastError());
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Chown(handle, path, key, uid, gid);
    }

    public static void Chown(SafeFileHandle handle, string path, string key, uint uid, uint gid)
    {
        if (Syscall.geteuid() != 0) return; // only root can give a file away; otherwise it is already ours
        if (Syscall.fchown((int)handle.DangerousGetHandle(), uid, gid) != 0)
            throw new IOException($"{key} {path}: cannot give it to uid {uid}: {Stdlib.GetLastError()}");
    }

    /// <summary>The device and inode of an open descriptor, to recognise the same file opened again.</summary>
    public static (ulong Device, ulong Inode) Identity(SafeHandle handle)
    {
        if (Syscall.fstat((int)handle.DangerousGetHandle(), out var stat) != 0)
            throw new IOException($"fstat: {Stdlib.GetLastError()}");
        return (stat.st_dev, stat.st_ino);
    }

    private static void CheckRegular(SafeFileHandle handle, string path, string key)
    {
        if (Syscall.fstat((int)handle.DangerousGetHandle(), out var stat) != 0)
            throw new IOException($"{key} {path}: fstat: {Stdlib.GetLastError()}");
        if ((stat.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG)
            throw new IOException($"{key} {path}: not a regular file; refusing to write to it");
        // A hard link to another file (/etc/shadow) passes O_NOFOLLOW; a log of our own has exactly one name.
        if (stat.st_nlink != 1)
            throw new IOException($"{key} {path}: has {stat.st_nlink} hard links; refusing to write to a file that also lives elsewhere");
    }

    private static IOException OpenError(string path, string key, Errno errno) => new(errno == Errno.ELOOP
        ? $"{key} {path}: is a symbolic link; refusing to follow it (remove it, or point {key} at the real file)"
        : $"{key} {path}: cannot open: {errno}");
}
