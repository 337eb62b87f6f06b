using Microsoft.Win32.SafeHandles;
using Pingora.Proxy.Files;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// The access_log file: a descriptor from <see cref="SafeFile.OpenAppend"/> (O_APPEND, no symlink followed, given
/// to the service user), and every write (one line, or the whole lines <see cref="AccessLogBuffer"/> gathered) one
/// pwrite(2). On Linux a positioned write on an O_APPEND descriptor appends (pwrite(2), BUGS), and the kernel appends
/// each write whole, so two processes writing during an upgrade interleave whole lines, never pieces. No lock: each
/// write is a single system call.
/// </summary>
public sealed class AccessLogFile : IDisposable
{
    private const string Key = "access_log";
    private readonly (uint Uid, uint Gid)? _owner;
    private SafeFileHandle _handle;
    private const long ReportEveryMs = 10_000;
    // Not long.MinValue: "now - last" would overflow to a negative number and no failure would ever be reported.
    private long _lastFailureTicks = -ReportEveryMs;

    private AccessLogFile(string path, (uint Uid, uint Gid)? owner, SafeFileHandle handle)
    {
        Path = path;
        _owner = owner;
        _handle = handle;
    }

    public string Path { get; }

    /// <summary>Lines lost to write errors (a full disk), since the start.</summary>
    public long Failed => Interlocked.Read(ref _failed);
    private long _failed;

    /// <summary>Opens (creating if missing) the file; an IOException names the key and the path.</summary>
    public static AccessLogFile Open(string path, (uint Uid, uint Gid)? owner) =>
        new(path, owner, SafeFile.OpenAppend(path, Key, owner));

    /// <summary>Appends <paramref name="lines"/> (whole lines, newlines included; <paramref name="count"/> of them).
    /// Never throws: a request must not fail because its line could not be written; <paramref name="onFailure"/>
    /// hears of it, at most every 10 s.</summary>
    public void Write(ReadOnlySpan<byte> lines, int count = 1, Action<Exception>? onFailure = null)
    {
        while (true)
        {
            var handle = Volatile.Read(ref _handle);
            try
            {
                RandomAccess.Write(handle, lines, fileOffset: 0);
                return;
            }
            catch (ObjectDisposedException) when (!ReferenceEquals(handle, Volatile.Read(ref _handle)))
            {
                // Reopened between the read of the handle and the write: write to the new file, lose nothing.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Interlocked.Add(ref _failed, count);
                var now = Environment.TickCount64;
                var last = Interlocked.Read(ref _lastFailureTicks);
                if (now - last >= ReportEveryMs && Interlocked.CompareExchange(ref _lastFailureTicks, now, last) == last)
                    onFailure?.Invoke(e);
                return;
            }
        }
    }

    /// <summary>
    /// Opens the path again (SIGUSR1, after logrotate renamed the file) and swaps the new descriptor in. A line being
    /// written meanwhile finishes on the old descriptor (the handle is reference-counted) or is retried on the new
    /// one; none is lost. If the open fails, the old file stays in use and the IOException says why.
    /// </summary>
    public void Reopen()
    {
        var fresh = SafeFile.OpenAppend(Path, Key, _owner);
        Interlocked.Exchange(ref _handle, fresh).Dispose();
    }

    public void Dispose() => Volatile.Read(ref _handle).Dispose();
}
