namespace Pingora.Proxy.AccessLog;

/// <summary>
/// Gathers whole lines and appends them to the <see cref="AccessLogFile"/> in one write when the buffer is full,
/// every flush interval, and before a reopen and at exit: nginx's <c>buffer=</c> and <c>flush=</c>, Envoy's default.
/// One write per line was most of what the access log cost per request. Every write still holds only whole lines,
/// so two processes appending during an upgrade never tear one. A capacity of 0 writes each line as it comes.
/// </summary>
public sealed class AccessLogBuffer : IDisposable
{
    private readonly AccessLogFile _file;
    private readonly Action<Exception>? _onFailure;
    private readonly ITimer? _timer;
    // _gate guards the pending buffer (held for a copy); _writing orders the writes (held for a pwrite), so a line
    // never waits behind the disk unless the buffer it goes into is full.
    private readonly Lock _gate = new();
    private readonly Lock _writing = new();
    private byte[] _pending, _spare;
    private int _length, _lines;
    private bool _disposed;

    public AccessLogBuffer(AccessLogFile file, int capacity, TimeSpan flushInterval, TimeProvider time, Action<Exception>? onFailure = null)
    {
        _file = file;
        _onFailure = onFailure;
        _pending = new byte[capacity];
        _spare = new byte[capacity];
        if (capacity > 0) _timer = time.CreateTimer(_ => Flush(), null, flushInterval, flushInterval);
    }

    public AccessLogFile File => _file;

    /// <summary>Adds one whole line (newline included). Never throws, like <see cref="AccessLogFile.Write"/>.</summary>
    public void Write(ReadOnlySpan<byte> line)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_disposed || line.Length > _pending.Length) break;
                if (_length + line.Length <= _pending.Length)
                {
                    line.CopyTo(_pending.AsSpan(_length));
                    _length += line.Length;
                    _lines++;
                    return;
                }
            }
            Flush();
        }
        // Too long for the buffer (or no buffer, or at exit): after what is gathered, so the file keeps the order.
        lock (_writing)
        {
            WritePending();
            _file.Write(line, 1, _onFailure);
        }
    }

    /// <summary>Writes what is gathered. From the timer, a full buffer, <see cref="Reopen"/> and <see cref="Dispose"/>.</summary>
    public void Flush()
    {
        lock (_writing) WritePending();
    }

    /// <summary>SIGUSR1: the lines gathered before it go to the file they were logged in, the later ones to the new one.</summary>
    public void Reopen()
    {
        lock (_writing)
        {
            WritePending();
            _file.Reopen();
        }
    }

    // Under _writing: the spare buffer is only touched here, so it is free to swap in.
    private void WritePending()
    {
        int length, lines;
        lock (_gate)
        {
            if (_length == 0) return;
            (_pending, _spare) = (_spare, _pending);
            (length, lines) = (_length, _lines);
            (_length, _lines) = (0, 0);
        }
        _file.Write(_spare.AsSpan(0, length), lines, _onFailure);
    }

    /// <summary>At exit, once requests are done: writes what is left and closes the file (a later line is counted lost).</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        lock (_writing)
        {
            lock (_gate) _disposed = true;
            WritePending();
            _file.Dispose();
        }
    }
}
