using System.Diagnostics;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// Runs SIGHUP reloads on a thread-pool thread, one at a time, so that a file that is slow to read (or never
/// finishes, a FIFO without a writer) cannot hold up the signal loop: SIGTERM still drains. SIGHUPs that arrive while
/// a reload runs are coalesced into one more reload after it, not queued one by one: the file may have changed
/// after the running reload read it, and one later read sees every change. Nothing a reload throws escapes.
/// </summary>
public sealed class ReloadRunner(Action reload, LifecycleState lifecycle)
{
    private readonly object _gate = new();
    private readonly Stopwatch _running = new();
    private Task _current = Task.CompletedTask;
    private bool _busy;   // under the gate, unlike the task's completion, which comes a moment after RunAll decides
    private bool _again;

    /// <summary>Completes when no reload runs or is due (for tests and an orderly exit; never awaited by the loop).</summary>
    public Task Idle
    {
        get { lock (_gate) return _current; }
    }

    public void Request()
    {
        lock (_gate)
        {
            if (_busy)
            {
                lifecycle.Log.Information("SIGHUP: a reload has been running for {Elapsed:0.###} s; {Next}", _running.Elapsed.TotalSeconds,
                    _again ? "one more reload is already due after it" : "one more reload follows it");
                _again = true;
                return;
            }
            _busy = true;
            _running.Restart();
            _current = Task.Run(RunAll);
        }
    }

    private void RunAll()
    {
        while (true)
        {
            RunOnce();
            lock (_gate)
            {
                if (!_again)
                {
                    _busy = false;
                    return;
                }
                _again = false;
                _running.Restart();
            }
        }
    }

    private void RunOnce()
    {
        try
        {
            reload();
        }
        catch (Exception e)
        {
            // Whatever went wrong, the running configuration stays and the process keeps serving.
            lifecycle.Failed(Phase.Reload, "failed: {Error}; the running configuration stays", $"{e.GetType().Name}: {e.Message}");
        }
    }
}
