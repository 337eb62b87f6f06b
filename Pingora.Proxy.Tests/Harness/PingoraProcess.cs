using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A child process (the daemon, or /bin/sh for the harness's own checks) whose stdout, stderr and optionally its
/// error_log file are captured line by line as they are written. Tests await lines as events; every wait is bounded
/// and its failure names what was awaited and shows the process's last lines. Disposing kills the process with
/// SIGKILL if it is still alive.
/// </summary>
public sealed class PingoraProcess : IAsyncDisposable
{
    private const int FailureContextLines = 40;

    /// <summary>Null for an adopted process (see <see cref="Adopt"/>).</summary>
    private readonly Process? _process;
    private readonly List<CapturedLine> _lines = [];
    private readonly Lock _lock = new();
    private readonly LogFileFollower? _logFollower;
    private readonly Task _outputComplete;
    private readonly Task<int> _exited;
    private TaskCompletionSource _changed = NewSignal();
    private bool _complete;
    private int _disposed;

    public int Pid { get; }

    /// <summary>For messages: "pingora[1234] -u -c /tmp/.../pingora.yaml".</summary>
    public string Name { get; }

    private PingoraProcess(Process process, string executableName, string arguments, string? followLogFile)
    {
        _process = process;
        Pid = process.Id;
        Name = $"{executableName}[{Pid}] {arguments}".TrimEnd();

        _exited = WatchExitAsync(process);
        var stdout = PumpAsync(process.StandardOutput, "stdout");
        var stderr = PumpAsync(process.StandardError, "stderr");
        if (followLogFile is not null)
            _logFollower = new LogFileFollower(followLogFile, () => Pid, line => Append("log", line));
        _outputComplete = CompleteAsync(stdout, stderr);
    }

    private PingoraProcess(int pid, string name, string? followLogFile)
    {
        Pid = pid;
        Name = name;
        _exited = WatchAdoptedExitAsync(pid);
        if (followLogFile is not null)
            _logFollower = new LogFileFollower(followLogFile, () => Pid, line => Append("log", line));
        _outputComplete = CompleteAsync(Task.CompletedTask, Task.CompletedTask);
    }

    /// <summary>
    /// A running process the test did not start itself: a daemon that detached from its launcher (its pid read from
    /// the pid file). Its lines come from its error_log only; its exit is awaited through a pidfd, but its exit code
    /// is its real parent's to know, so <see cref="ExitCode"/> stays null (check its phase=exit line instead).
    /// </summary>
    public static PingoraProcess Adopt(int pid, string? followLogFile)
    {
        var command = ProcessTable.CommandLine(pid) ?? "(already gone)";
        var executable = command.Split(' ')[0];
        return new PingoraProcess(pid, $"{Path.GetFileName(executable)}[{pid}] (detached) {command[executable.Length..].Trim()}".TrimEnd(), followLogFile);
    }

    /// <summary>Starts the published pingora binary.</summary>
    /// <param name="followLogFile">The config's error_log: its lines are captured with source "log".</param>
    public static PingoraProcess StartDaemon(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        string? followLogFile = null) =>
        Start(RepoPaths.RequireBinary(), args, env, followLogFile);

    /// <summary>Starts any executable with captured output. The daemon's tests use <see cref="StartDaemon"/>.</summary>
    public static PingoraProcess Start(string executable, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env = null, string? followLogFile = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Not the test runner's stdin: the daemon must not depend on, or consume, the runner's terminal.
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // A test hook must only ever reach the process a test meant it for.
        info.Environment.Remove("PINGORA_TEST_STOP_AT");
        if (env is not null)
        {
            foreach (var (key, value) in env) info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        if (!process.Start()) throw new InvalidOperationException($"could not start {executable}");
        return new PingoraProcess(process, Path.GetFileName(executable), string.Join(' ', info.ArgumentList), followLogFile);
    }

    public bool HasExited => _exited.IsCompleted || _process is { HasExited: true };

    /// <summary>The exit code once exited (128+N when killed by signal N), else null; always null when adopted.</summary>
    public int? ExitCode => _process is null ? null
        : _exited.IsCompletedSuccessfully ? _exited.Result : _process.HasExited ? _process.ExitCode : null;

    /// <summary>True once stdout and stderr reached end of file: nothing holds them open any more (a daemon that
    /// kept its launcher's stdout would keep a caller's <c>$(pingora -d)</c> waiting forever).</summary>
    public bool OutputClosed => _outputComplete.IsCompleted;

    /// <summary>Number of lines captured so far: pass it as <c>fromLine</c> to await only lines written after now.</summary>
    public int LineCount
    {
        get { lock (_lock) return _lines.Count; }
    }

    public IReadOnlyList<CapturedLine> Lines
    {
        get { lock (_lock) return _lines.ToArray(); }
    }

    public string Stdout => JoinSource("stdout");
    public string Stderr => JoinSource("stderr");

    /// <summary>The daemon's log, wherever it goes: stderr, or the error_log file when followed.</summary>
    public string AllText
    {
        get { lock (_lock) return string.Join('\n', _lines.Select(l => l.Text)); }
    }

    /// <summary>The last lines, formatted for a failure message.</summary>
    public string LastLines(int count = FailureContextLines)
    {
        CapturedLine[] tail;
        lock (_lock) tail = _lines.Skip(Math.Max(0, _lines.Count - count)).ToArray();
        var state = !HasExited ? "still running" : _process is null ? "exited" : $"exited with code {ExitCode}";
        var header = $"--- {Name} ({state}), last {tail.Length} line(s) ---";
        return tail.Length == 0 ? header + "\n(no output)" : header + "\n" + string.Join('\n', tail.Select(l => l.ToString()));
    }

    /// <summary>Awaits a line containing <paramref name="substring"/> (ordinal).</summary>
    public Task<CapturedLine> WaitForLineAsync(string substring, TimeSpan timeout, int fromLine = 0) =>
        WaitForAsync(l => l.Text.Contains(substring, StringComparison.Ordinal), $"a line containing '{substring}'", timeout, fromLine);

    public Task<CapturedLine> WaitForLineAsync(Regex pattern, TimeSpan timeout, int fromLine = 0) =>
        WaitForAsync(l => pattern.IsMatch(l.Text), $"a line matching /{pattern}/", timeout, fromLine);

    /// <summary>Awaits the lifecycle line <c>phase=NAME</c> (not a longer phase that starts with NAME:
    /// "drain" does not match "drained").</summary>
    public Task<CapturedLine> WaitForPhaseAsync(string phase, TimeSpan timeout, int fromLine = 0) =>
        WaitForLineAsync(PhasePattern(phase), timeout, fromLine);

    public static Regex PhasePattern(string phase, string? followedBy = null) =>
        new($@"\bphase={Regex.Escape(phase)}(?![\w-]){(followedBy is null ? "" : @"\s+" + followedBy)}", RegexOptions.CultureInvariant);

    public CapturedLine? FindLine(Regex pattern, int fromLine = 0)
    {
        lock (_lock) return _lines.Skip(fromLine).FirstOrDefault(l => pattern.IsMatch(l.Text));
    }

    public CapturedLine? FindPhase(string phase, int fromLine = 0) => FindLine(PhasePattern(phase), fromLine);

    private async Task<CapturedLine> WaitForAsync(Func<CapturedLine, bool> match, string what, TimeSpan timeout, int fromLine)
    {
        var clock = Stopwatch.StartNew();
        var deadline = Task.Delay(timeout);
        var next = fromLine;
        while (true)
        {
            Task changed;
            bool complete;
            lock (_lock)
            {
                for (; next < _lines.Count; next++)
                {
                    if (match(_lines[next])) return _lines[next];
                }
                changed = _changed.Task;
                complete = _complete;
            }
            if (complete)
            {
                throw new HarnessTimeoutException(
                    $"{Name} exited{(_process is null ? "" : $" (code {ExitCode})")} without writing {what} " +
                    $"(waited {clock.Elapsed.TotalSeconds:F1}s, from line {fromLine})\n{LastLines()}");
            }
            if (deadline.IsCompleted)
            {
                throw new HarnessTimeoutException(
                    $"timed out after {timeout.TotalSeconds:F1}s waiting for {Name} to write {what} " +
                    $"(from line {fromLine})\n{LastLines()}");
            }
            // Bounded await of the next captured line (or end of output), not a sleep.
            await Task.WhenAny(changed, deadline);
        }
    }

    /// <summary>Sends a real signal with kill(2). Signalling a process that already exited is a test error: its pid
    /// may belong to someone else by now.</summary>
    public void Signal(int signal)
    {
        if (HasExited)
            throw new InvalidOperationException($"cannot send {Signals.Name(signal)} to {Name}: it already exited\n{LastLines()}");
        Signals.Send(Pid, signal);
    }

    /// <summary>Awaits exit and the end of its output; returns the exit code. An adopted process has none to
    /// give: use <see cref="WaitForGoneAsync"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is null)
            throw new InvalidOperationException($"{Name} is not the test's child: its exit code cannot be known; use WaitForGoneAsync");
        return await WaitForGoneAsync(timeout);
    }

    /// <summary>Awaits exit and the end of its output (for an adopted process, the rest of its error_log).</summary>
    public async Task<int> WaitForGoneAsync(TimeSpan timeout)
    {
        int code;
        try
        {
            code = await _exited.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new HarnessTimeoutException(
                $"timed out after {timeout.TotalSeconds:F1}s waiting for {Name} to exit\n{LastLines()}");
        }
        // The last lines (phase=exit ...) may still be in the pipe when the process is reaped; an inheriting
        // grandchild could hold the pipe open forever, so this part is bounded too.
        await Task.WhenAny(_outputComplete, Task.Delay(TimeSpan.FromSeconds(5)));
        return code;
    }

    /// <summary>SIGKILL if still alive. Safe to call at any time.</summary>
    public void Kill()
    {
        if (!HasExited) Signals.TrySend(Pid, Signals.SIGKILL, out _);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Kill();
        try
        {
            await _exited.WaitAsync(Timeouts.Reap);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"{Name} did not die within {Timeouts.Reap.TotalSeconds}s of SIGKILL\n{LastLines()}");
        }
        await Task.WhenAny(_outputComplete, Task.Delay(TimeSpan.FromSeconds(2)));
        if (_logFollower is not null) await _logFollower.DisposeAsync();
        // The Process object stays undisposed: its exit code and state remain readable for failure messages, and
        // it holds no resources once the child is reaped and the pipes are at EOF.
    }

    private async Task PumpAsync(StreamReader reader, string source)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line) Append(source, line);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process.
        }
    }

    private static async Task<int> WatchExitAsync(Process process)
    {
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>Completes with -1 (no code is known) when the adopted process has exited.</summary>
    private static async Task<int> WatchAdoptedExitAsync(int pid)
    {
        await PidFd.WhenExited(pid);
        return -1;
    }

    private async Task CompleteAsync(Task stdout, Task stderr)
    {
        await Task.WhenAll(stdout, stderr, _exited);
        if (_logFollower is not null) await _logFollower.FinishAsync();
        TaskCompletionSource changed;
        lock (_lock)
        {
            _complete = true;
            changed = _changed;
        }
        changed.TrySetResult();
    }

    private void Append(string source, string text)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _lines.Add(new CapturedLine(_lines.Count, source, DateTimeOffset.UtcNow, text));
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
    }

    private string JoinSource(string source)
    {
        lock (_lock) return string.Join('\n', _lines.Where(l => l.Source == source).Select(l => l.Text));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override string ToString() => Name;
}
