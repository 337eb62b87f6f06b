using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pingora.Proxy.Memory;

/// <summary>
/// Gives the memory that traffic made the garbage collector commit back to the system once the process goes quiet.
/// The collector keeps what it committed for as long as nothing allocates, and an idle proxy allocates nothing, so
/// without this a process idle after a burst holds the burst's heap (about 20 MB here) indefinitely. Quiet means
/// under <see cref="QuietBytes"/> allocated in a check period (every request allocates about 3 KB: some tens of
/// requests a second at most); it trims once per quiet spell, and only after real work since the last trim, with
/// the collection mode .NET made for this moment (GCCollectionMode.Aggressive: "about to go idle"). Envoy's
/// overload manager has the same action (shrink_heap). A draining process does not trim: it is about to exit, and
/// the collection's CPU would be taken from its successor.
/// </summary>
public sealed partial class IdleMemoryTrim : IHostedService, IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    public const long QuietBytes = 1024 * 1024;
    public const long WorkBytes = 32 * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly Func<long> _allocated;
    private readonly Action _trim;
    private readonly ILogger _log;
    private readonly Func<bool> _draining;
    private ITimer? _timer;
    private long _lastCheck;
    private long _lastTrim;

    public IdleMemoryTrim(TimeProvider time, Drain.ConnectionTracker connections, ILogger<IdleMemoryTrim> log)
        : this(time, () => GC.GetTotalAllocatedBytes(), () => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true),
            () => connections.Draining, log)
    {
    }

    internal IdleMemoryTrim(TimeProvider time, Func<long> allocated, Action trim, Func<bool> draining, ILogger log)
    {
        _time = time;
        _allocated = allocated;
        _trim = trim;
        _draining = draining;
        _log = log;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lastCheck = _lastTrim = _allocated();
        _timer = _time.CreateTimer(_ => Check(), null, Period, Period);
        return Task.CompletedTask;
    }

    internal void Check()
    {
        var now = _allocated();
        var quiet = now - _lastCheck < QuietBytes;
        _lastCheck = now;
        if (!quiet || now - _lastTrim < WorkBytes || _draining()) return;
        var before = Environment.WorkingSet;
        _trim();
        _lastCheck = _lastTrim = _allocated();
        Trimmed(_log, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "idle: heap trimmed, RSS {Before} MB -> {After} MB")]
    private static partial void Trimmed(ILogger logger, long before, long after);
}
