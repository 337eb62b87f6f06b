using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Daemon;

/// <summary>
/// Points a standard descriptor (0, 1 or 2) at a file, together with every copy of it. The runtime duplicates fds 0, 1
/// and 2 while it starts, before Main (and Console duplicates them again on first use). Moving only fd 1 would leave
/// such a copy holding the caller's stdout for the daemon's whole life, so a caller reading it (a shell's
/// <c>$(pingora -d)</c>, a test harness) would never see end of file; and moving only fd 2 would leave the runtime's
/// own copy writing into the launcher's pipe after the launcher is gone.
/// </summary>
internal static class StdioRedirect
{
    public static void To(string path, int target, OpenFlags flags)
    {
        var fd = Syscall.open(path, flags | OpenFlags.O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {path}: {Stdlib.GetLastError()}");
        using var file = new SafeFileHandle(fd, ownsHandle: true);
        To(file, target, path);
    }

    /// <summary>Points <paramref name="target"/> at a file already opened (and checked) by the caller.</summary>
    public static void To(SafeFileHandle file, int target, string path)
    {
        var copies = CopiesOf(target);
        var fd = (int)file.DangerousGetHandle();
        // dup2 clears close-on-exec on the target, as stdio should be; the copies keep theirs (dup3).
        if (Syscall.dup2(fd, target) < 0) throw new IOException($"dup2 {path}: {Stdlib.GetLastError()}");
        foreach (var copy in copies.Where(c => c != fd))
        {
            if (Libc.dup3(fd, copy, Libc.O_CLOEXEC) < 0)
                throw new IOException($"dup3 {path} onto fd {copy}: {Stdlib.GetLastError()}");
        }
    }

    /// <summary>
    /// The other descriptors open on the same file as <paramref name="target"/>, in the same access mode. They are
    /// long-lived copies nobody closes, so none of them can be closed and reused between this scan and the dup3.
    /// </summary>
    private static List<int> CopiesOf(int target)
    {
        var copies = new List<int>();
        if (Syscall.fstat(target, out var original) != 0) return copies;
        var mode = AccessMode(target);
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var fd) || fd <= 2) continue;
            if (Syscall.fstat(fd, out var stat) != 0) continue;
            if (stat.st_dev == original.st_dev && stat.st_ino == original.st_ino && AccessMode(fd) == mode) copies.Add(fd);
        }
        return copies;
    }

    private static int AccessMode(int fd) => Syscall.fcntl(fd, FcntlCommand.F_GETFL) & Libc.O_ACCMODE;
}
