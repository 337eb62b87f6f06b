using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Descriptors;

/// <summary>
/// Pauses every accept loop of the process while it is out of file descriptors. An accept that fails with EMFILE
/// (or ENFILE, ENOBUFS) leaves its connection in the kernel's queue, so retrying at once only spins on the error;
/// instead the <see cref="DescriptorReserve"/> is released for the runtime and the connections already accepted,
/// and accepting resumes once the reserve can be held again: when a connection closes, or at the latest
/// <see cref="RetryInterval"/> later (descriptors may also come back from elsewhere, an idle upstream connection
/// closing). Reported at most once per <see cref="ReportInterval"/>, with the count of failures in between.
/// </summary>
public sealed partial class AcceptGate : IDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>Accepting pauses when no more than this many descriptors are left (besides the reserve).</summary>
    public const int LowHeadroom = 16;

    /// <summary>Descriptors that must be free beyond the reserve before accepting resumes: above
    /// <see cref="LowHeadroom"/>, so that one closed connection does not resume accepting only to pause again.</summary>
    public const int ResumeHeadroom = LowHeadroom + 8;

    private readonly Lock _gate = new();
    private readonly DescriptorReserve _reserve;
    private readonly ConnectionTracker _connections;
    private readonly ILogger _log;
    private readonly Timer _retry;
    private readonly int? _limit = DescriptorLimit.Read();
    private TaskCompletionSource? _resumed;
    private readonly Stopwatch _pausedFor = new();
    private long _lastReport = long.MinValue;
    private int _failuresSinceReport;
    private bool _pauseReported;

    public AcceptGate(DescriptorReserve reserve, ConnectionTracker connections, ILogger<AcceptGate> log)
    {
        _reserve = reserve;
        _connections = connections;
        _log = log;
        // Created unarmed: the timer thread starts at the first Change, which runs after the reserve is released.
        _retry = new Timer(_ => TryResume(), null, Timeout.Infinite, Timeout.Infinite);
        _connections.ConnectionClosed += TryResume;
    }

    public bool Paused
    {
        get { lock (_gate) return _resumed is not null; }
    }

    /// <summary>The errors of an accept that mean "no descriptor or buffer for the new connection".</summary>
    public static bool IsExhaustion(SocketException e) =>
        e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

    /// <summary>Completes at once while accepting, else when accepting resumes. Never throws but for cancellation.</summary>
    public Task WhenOpen(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _resumed is null ? Task.CompletedTask : _resumed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>An accept failed for want of descriptors: pause all accepts and give the reserve back.</summary>
    public void Exhausted(string listener, SocketException error) => Pause(listener, ErrorName(error), releaseReserve: true);

    /// <summary>
    /// After each accept: pause before the last descriptors are gone, not after. Measured: a thread-pool thread
    /// that cannot start for want of a descriptor aborts the process ("Out of memory"), and that can happen right
    /// after the accept that took the last one, before any accept fails. The lowest free descriptor is what the
    /// kernel hands out next, so every number below it is in use: when it is within <see cref="LowHeadroom"/> of
    /// the limit, at most that many are left.
    /// </summary>
    public void Accepted(string listener, int anyOpenFd)
    {
        if (_limit is not { } limit) return;
        var lowest = DescriptorReserve.LowestFree(anyOpenFd);
        if (lowest >= 0 && lowest < limit - LowHeadroom) return;
        Pause(listener, $"{(lowest < 0 ? 0 : limit - lowest)} of {limit} file descriptors (RLIMIT_NOFILE) left", releaseReserve: lowest < 0);
    }

    private void Pause(string listener, string why, bool releaseReserve)
    {
        bool report;
        int failures;
        lock (_gate)
        {
            _failuresSinceReport++;
            if (_resumed is null)
            {
                _resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _pausedFor.Restart();
            }
            var now = Environment.TickCount64;
            report = _lastReport == long.MinValue || now - _lastReport >= (long)ReportInterval.TotalMilliseconds;
            failures = _failuresSinceReport;
            if (report)
            {
                _lastReport = now;
                _failuresSinceReport = 0;
                _pauseReported = true;
            }
            // Under the lock: a connection closing right now must not find the reserve still full and resume.
            if (releaseReserve) _reserve.Release();
        }
        if (report) LogPaused(_log, listener, why, failures, ReportInterval.TotalSeconds, _connections.Active);
        try
        {
            _retry.Change(RetryInterval, RetryInterval);
        }
        catch (OutOfMemoryException)
        {
            // No thread for the timer even now: a closing connection still resumes.
        }
    }

    private void TryResume()
    {
        TaskCompletionSource? resumed;
        bool report;
        lock (_gate)
        {
            // Hysteresis: a closing connection's descriptor is released after Kestrel's close reaches us, and
            // resuming with no room beyond the reserve would pause again at the very next accept.
            if (_resumed is null || !_reserve.TryFill() || !DescriptorReserve.HasRoomFor(ResumeHeadroom)) return;
            resumed = _resumed;
            _resumed = null;
            _pausedFor.Stop();
            report = _pauseReported;
            _pauseReported = false;
        }
        _retry.Change(Timeout.Infinite, Timeout.Infinite);
        // Only after a reported pause, so that the two lines come in pairs, at most one pair per report interval.
        if (report) LogResumed(_log, _pausedFor.ElapsedMilliseconds, _connections.Active);
        resumed.TrySetResult();
    }

    /// <summary>
    /// The runtime reports EMFILE and ENFILE alike as TooManyOpenSockets, and its message then always says "in
    /// system": name the condition rather than repeat a text that may be wrong.
    /// </summary>
    private static string ErrorName(SocketException e) => e.SocketErrorCode == SocketError.TooManyOpenSockets
        ? "out of file descriptors (EMFILE or ENFILE)"
        : "out of socket buffers (ENOBUFS)";

    public void Dispose()
    {
        _connections.ConnectionClosed -= TryResume;
        _retry.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "accept on {Listener}: {Error}; accepting paused until descriptors are free again (the kernel queues new connections meanwhile); paused {Failures} times in the last {Interval} s; {Connections} connections open")]
    private static partial void LogPaused(ILogger log, string listener, string error, int failures, double interval, int connections);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "accepting again after {PausedMs} ms out of file descriptors; {Connections} connections open")]
    private static partial void LogResumed(ILogger log, long pausedMs, int connections);
}
