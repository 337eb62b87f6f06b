using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;

namespace Pingora.Proxy.Files;

/// <summary>The outcome of <see cref="BoundedFile.Read"/>: the file's bytes, or why it was not read.</summary>
public sealed record FileRead(byte[]? Bytes, string? Error)
{
    [MemberNotNullWhen(true, nameof(Bytes))]
    public bool Ok => Bytes is not null;
    public static FileRead Refused(string error) => new(null, error);
}

/// <summary>
/// Reads a configuration, certificate or key file whole, but only a regular file and only up to a size cap.
/// A path the operator got wrong must cost a diagnostic, not the process: /dev/zero read "whole" grows until the
/// runtime aborts, and a FIFO blocks open(2) and read(2) forever (on SIGHUP, that is the signal loop).
/// </summary>
public static class BoundedFile
{
    /// <summary>A configuration file is kilobytes; a few MB leaves room for thousands of routes.</summary>
    public const int ConfigLimit = 4 * 1024 * 1024;

    /// <summary>A PEM certificate chain or key is a few kilobytes.</summary>
    public const int PemLimit = 1024 * 1024;

    public const string NotFound = "file not found";

    public static FileRead Read(string path, int limit)
    {
        if (string.IsNullOrEmpty(path)) return FileRead.Refused("no path given");
        // Marshalled to C, a NUL would silently cut the path short: another file than the one named.
        if (path.Contains('\0')) return FileRead.Refused("the path contains a NUL character");

        // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one. Regular files
        // ignore the flag, and anything else is refused below before a read.
        var fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY);
        if (fd < 0) return FileRead.Refused(Describe(Stdlib.GetLastError()));
        using var handle = new SafeFileHandle(fd, ownsHandle: true);

        if (Syscall.fstat(fd, out var stat) != 0) return FileRead.Refused(Describe(Stdlib.GetLastError()));
        var type = stat.st_mode & FilePermissions.S_IFMT;
        if (type != FilePermissions.S_IFREG) return FileRead.Refused($"not a regular file ({KindOf(type)})");
        if (stat.st_size > limit) return FileRead.Refused($"the file is {stat.st_size} bytes, more than the {limit} allowed");

        // The size may change between fstat and read (a file being rewritten): read at most limit + 1 and check.
        var buffer = new byte[Math.Min(limit + 1L, Math.Max(stat.st_size + 1, 4096))];
        var total = 0;
        try
        {
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
                if (n == 0) break;
                total += n;
                if (total == buffer.Length && buffer.Length <= limit) Array.Resize(ref buffer, (int)Math.Min(limit + 1L, buffer.Length * 2L));
            }
        }
        catch (IOException e)
        {
            return FileRead.Refused(e.Message);
        }
        if (total > limit) return FileRead.Refused($"the file is more than the {limit} bytes allowed");
        return new FileRead(buffer.AsSpan(0, total).ToArray(), null);
    }

    private static string Describe(Errno errno) => errno switch
    {
        Errno.ENOENT => NotFound,
        Errno.EACCES => "permission denied",
        Errno.EISDIR => "not a regular file (a directory)",
        Errno.ENOTDIR => "a component of the path is not a directory",
        Errno.ELOOP => "too many symbolic links",
        Errno.ENAMETOOLONG => "the path is too long",
        _ => $"cannot open: {Marshal.GetPInvokeErrorMessage((int)NativeConvert.FromErrno(errno))}",
    };

    private static string KindOf(FilePermissions type) => type switch
    {
        FilePermissions.S_IFDIR => "a directory",
        FilePermissions.S_IFCHR => "a character device",
        FilePermissions.S_IFBLK => "a block device",
        FilePermissions.S_IFIFO => "a FIFO",
        FilePermissions.S_IFSOCK => "a socket",
        _ => "not a file",
    };
}
