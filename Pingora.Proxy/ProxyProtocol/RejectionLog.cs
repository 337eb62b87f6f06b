using System.Net;
using Microsoft.Extensions.Logging;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// Logs connections closed for a bad PROXY header at most once a second per listener: the first at once, then one
/// line a second later counting every rejection since, with the latest reason. A port scan or a client that
/// bypasses the load balancer cannot flood the log, and no rejection goes uncounted.
/// </summary>
internal sealed partial class RejectionLog : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger;
    private readonly string _listener;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private long? _lastLogged;
    private bool _flushScheduled;
    private int _pending;
    private EndPoint? _peer;
    private string _reason = "";

    public RejectionLog(ILogger logger, string listener, TimeProvider time)
    {
        _logger = logger;
        _listener = listener;
        _time = time;
        _timer = time.CreateTimer(_ => Flush(scheduled: true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void Rejected(EndPoint? peer, string reason)
    {
        lock (_gate)
        {
            _pending++;
            _peer = peer;
            _reason = reason;
            if (_flushScheduled) return;
            if (_lastLogged is { } last && _time.GetElapsedTime(last) is var since && since < Interval)
            {
                _flushScheduled = true;
                _timer.Change(Interval - since, Timeout.InfiniteTimeSpan);
                return;
            }
        }
        Flush(scheduled: false);
    }

    private void Flush(bool scheduled)
    {
        int count;
        EndPoint? peer;
        string reason;
        lock (_gate)
        {
            if (scheduled) _flushScheduled = false;
            if (_pending == 0) return;
            (count, peer, reason) = (_pending, _peer, _reason);
            _pending = 0;
            _lastLogged = _time.GetTimestamp();
        }
        LogRejected(_logger, count, _listener, peer?.ToString() ?? "?", reason);
    }

    public void Dispose() => _timer.Dispose();

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "proxy_protocol: closed {Count} connection(s) on {Listener} without a valid PROXY header; latest from {Peer}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int count, string listener, string peer, string reason);
}
