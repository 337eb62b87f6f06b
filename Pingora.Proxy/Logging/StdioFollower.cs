using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;
using Pingora.Proxy.Daemon;

namespace Pingora.Proxy.Logging;

/// <summary>
/// Keeps stdout and stderr on error_log across a SIGUSR1 reopen. <c>-d</c> points stderr at error_log, where the
/// runtime writes what no logger sees (an unhandled exception, a crash). Serilog follows the reopen by itself, but
/// fds 1 and 2 would keep the renamed file, so a crash after a rotation would land in the rotated log.
/// </summary>
internal static class StdioFollower
{
    /// <summary>
    /// Points fd 1 and fd 2 (and their copies) at <paramref name="reopened"/>, each only if it is still open on the
    /// <paramref name="previous"/> error_log file: a foreground process's stderr (a terminal, a pipe) stays put.
    /// Returns why one could not be moved, else null; the log itself has been reopened either way.
    /// </summary>
    public static string? Follow((ulong Device, ulong Inode) previous, SafeFileHandle reopened, string path)
    {
        foreach (var target in (ReadOnlySpan<int>)[1, 2])
        {
            if (Syscall.fstat(target, out var stat) != 0 || (stat.st_dev, stat.st_ino) != previous) continue;
            try
            {
                StdioRedirect.To(reopened, target, path);
            }
            catch (IOException e)
            {
                return $"fd {target} stays on the rotated file: {e.Message}";
            }
        }
        return null;
    }
}
