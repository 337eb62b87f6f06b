using Microsoft.Win32.SafeHandles;
using Serilog.Core;
using Serilog.Events;

namespace Pingora.Proxy.Logging;

/// <summary>
/// The error_log sink, which SIGUSR1 can point at the file now at its path (after logrotate renamed the old one).
/// Serilog.Sinks.File keeps its file for life, so reopening builds a new sink and swaps it in; the lock makes the
/// swap fall between two events, so none goes to a sink already disposed. Stdout and stderr follow where they were
/// on the old file (see <see cref="StdioFollower"/>).
/// </summary>
internal sealed class ReopenableSink : ILogEventSink, IDisposable
{
    /// <summary>Opens the file: the new sink, the checked descriptor it was opened through, and the file's identity.</summary>
    public delegate SafeFileHandle Opener(out Logger sink, out (ulong Device, ulong Inode) identity);

    private readonly Opener _open;
    private readonly string _path;
    private readonly Lock _gate = new();
    private Logger _current;
    private (ulong Device, ulong Inode) _identity;

    public ReopenableSink(Opener open, string path)
    {
        _open = open;
        _path = path;
        using var _ = open(out _current, out _identity);
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_gate) _current.Write(logEvent);
    }

    /// <summary>Throws (IOException) when the file cannot be opened; the old one then stays in use. Returns why
    /// stdout or stderr could not follow, else null.</summary>
    public string? Reopen()
    {
        using var file = _open(out var fresh, out var identity);
        Logger old;
        lock (_gate)
        {
            old = _current;
            _current = fresh;
        }
        old.Dispose();
        var previous = _identity;
        _identity = identity;
        // After the old sink closed its own descriptor on that file: the copies of stderr StdioRedirect looks for
        // (same file, same access mode) are then only the runtime's, never a descriptor Serilog still writes to.
        return StdioFollower.Follow(previous, file, _path);
    }

    public void Dispose()
    {
        lock (_gate) _current.Dispose();
    }
}
