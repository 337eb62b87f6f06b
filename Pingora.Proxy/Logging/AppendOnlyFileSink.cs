using System.Text;
using Mono.Unix.Native;
using Pingora.Proxy.Native;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Pingora.Proxy.Logging;

/// <summary>
/// The error_log file. During an upgrade the old and the new process write to it at the same time, so it is opened
/// with O_APPEND and every event is one write(2): the kernel then appends whole lines without any lock. A .NET
/// FileStream in FileMode.Append does not set O_APPEND (it seeks to the end and keeps its own offset), and
/// Serilog.Sinks.File's shared mode serializes writers with a named mutex that is per session, which a daemon, having
/// called setsid, does not share with its successor.
/// </summary>
internal sealed unsafe class AppendOnlyFileSink : ILogEventSink, IDisposable
{
    private readonly ITextFormatter _format;
    private readonly int _fd;
    private readonly object _gate = new();

    public AppendOnlyFileSink(string path, ITextFormatter format)
    {
        _format = format;
        _fd = Syscall.open(path, OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC,
            FilePermissions.S_IRUSR | FilePermissions.S_IWUSR | FilePermissions.S_IRGRP);
        if (_fd < 0) throw new IOException($"cannot open error_log {path}: {Stdlib.GetLastError()}");
    }

    public void Emit(LogEvent logEvent)
    {
        var text = new StringWriter();
        _format.Format(logEvent, text);
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        lock (_gate)
        {
            fixed (byte* start = bytes)
            {
                // A regular file takes the whole write at once; the loop is for the exceptional short write.
                for (var written = 0; written < bytes.Length;)
                {
                    var n = Libc.write(_fd, start + written, (nuint)(bytes.Length - written));
                    if (n < 0)
                    {
                        if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
                        return; // a full disk must not take the proxy down; nothing else to report to
                    }
                    written += (int)n;
                }
            }
        }
    }

    public void Dispose() => Libc.close(_fd);
}
