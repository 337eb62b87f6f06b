namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// The process's current <see cref="Phase"/>, the one place that state lives: entering a phase writes its
/// <c>phase=...</c> line, moves <see cref="Current"/> and tells observers (<c>/status</c> reads it, a metrics exporter
/// can subscribe to <see cref="Entered"/>). Safe to use from any thread; lines and events keep the order of entry.
/// </summary>
public sealed class LifecycleState(Serilog.ILogger log)
{
    private readonly object _gate = new();
    // Written under the gate (so that lines and events keep their order), read without it: /status reads it per request.
    private volatile Phase _current = Phase.Configure;

    public Serilog.ILogger Log { get; } = log;

    public Phase Current => _current;

    /// <summary>Raised after every step's line is written, with the step (Reload, HandoffFailed, ... included), under
    /// the state's lock: handlers must be quick and must not enter a phase.</summary>
    public event Action<Phase>? Entered;

    /// <summary>As <see cref="Entered"/>, and told whether the step failed (<see cref="Failed"/>): a rejected reload is
    /// a Reload step too. Raised just before <see cref="Entered"/>, under the same lock.</summary>
    public event Action<Phase, bool>? Stepped;

    public void Enter(Phase phase, string template = "", params object?[] values) =>
        Move(phase, Serilog.Events.LogEventLevel.Information, template, values);

    /// <summary>A step that failed (handoff-failed, a rejected reload, exit code=1): the same line at error level.</summary>
    public void Failed(Phase phase, string template, params object?[] values) =>
        Move(phase, Serilog.Events.LogEventLevel.Error, template, values);

    private void Move(Phase phase, Serilog.Events.LogEventLevel level, string template, object?[] values)
    {
        lock (_gate)
        {
            _current = phase.After(_current);
            Log.Write(level, $"phase={phase.LogName()} {template}", values);
            Stepped?.Invoke(phase, level == Serilog.Events.LogEventLevel.Error);
            Entered?.Invoke(phase);
        }
    }
}
