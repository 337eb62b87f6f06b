using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Pingora.Proxy.Tests.Lifecycle;

/// <summary>A Serilog sink that keeps rendered lines in memory and lets a test await one.</summary>
public sealed class LogCapture : ILogEventSink
{
    // As the daemon's own format renders them: strings unquoted.
    private static readonly MessageTemplateTextFormatter Format = new("{Message:l}");
    private readonly object _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];

    public Serilog.ILogger CreateLogger() => new Serilog.LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(this).CreateLogger();

    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return _lines.ToList(); }
    }

    public void Emit(LogEvent logEvent)
    {
        var output = new StringWriter();
        Format.Format(logEvent, output);
        var line = output.ToString();
        lock (_gate)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>The first line (logged before or after the call) that contains <paramref name="text"/>.</summary>
    public async Task<string> WaitForAsync(string text, TimeSpan? timeout = null)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var found = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (found is not null) return found;
            _waiters.Add((l => l.Contains(text, StringComparison.Ordinal), seen));
        }
        try
        {
            return await seen.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no log line containing '{text}'; lines:\n{string.Join("\n", Lines)}");
        }
    }
}
