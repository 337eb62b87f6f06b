namespace Pingora.Proxy.Hosting;

/// <summary>What the status endpoint reports about this process; the lifecycle updates the state.</summary>
public sealed class ProcessStatus
{
    public static readonly string Version =
        typeof(ProcessStatus).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly long _startedAt = Environment.TickCount64;

    public int Pid { get; } = Environment.ProcessId;
    public volatile string State = "starting";
    public double UptimeSeconds => (Environment.TickCount64 - _startedAt) / 1000.0;
}
