using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The process wrapper, checked against /bin/sh: line capture as events, signals, exit codes, bounded waits
/// with useful messages, error_log following, stopped-state detection and kill on dispose.</summary>
[TestFixture]
[Category("Harness")]
public sealed class ProcessChecks
{
    private readonly List<PingoraProcess> _started = [];
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pingora-e2e", "proc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public async Task KillAllAsync()
    {
        foreach (var p in _started) await p.DisposeAsync();
        _started.Clear();
        Directory.Delete(_dir, recursive: true);
    }

    private PingoraProcess Shell(string script, string? followLogFile = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var p = PingoraProcess.Start("/bin/sh", ["-c", script], env, followLogFile);
        _started.Add(p);
        return p;
    }

    [Test]
    public async Task Lines_from_stdout_and_stderr_are_awaitable_and_the_exit_code_is_reported()
    {
        var p = Shell("echo to-stdout; echo 'x phase=serving' >&2; echo 'x phase=drained' >&2; exit 3");

        var serving = await p.WaitForPhaseAsync("serving", TimeSpan.FromSeconds(10));
        var line = await p.WaitForLineAsync("to-stdout", TimeSpan.FromSeconds(10));
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.That(serving.Source, Is.EqualTo("stderr"));
        Assert.That(line.Source, Is.EqualTo("stdout"));
        Assert.That(code, Is.EqualTo(3));
        Assert.That(p.Stdout, Is.EqualTo("to-stdout"));
    }

    [Test]
    public async Task A_phase_does_not_match_a_longer_phase_with_the_same_prefix()
    {
        var p = Shell("echo 'phase=drained'; echo 'phase=upgrade-wait'; exit 0");
        await p.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.That(p.FindPhase("drain"), Is.Null);
        Assert.That(p.FindPhase("upgrade"), Is.Null);
        Assert.That(p.FindPhase("drained"), Is.Not.Null);
        Assert.That(p.FindPhase("upgrade-wait"), Is.Not.Null);
    }

    [Test]
    public async Task A_wait_with_a_cursor_ignores_earlier_lines()
    {
        var p = Shell("echo 'phase=reload ok'; read _; echo 'phase=reload rejected'; read _");
        await p.WaitForLineAsync("phase=reload ok", TimeSpan.FromSeconds(10));
        var cursor = p.LineCount;
        var wait = p.WaitForLineAsync(new Regex("phase=reload"), TimeSpan.FromSeconds(10), cursor);
        Assert.That(wait.IsCompleted, Is.False, "the earlier reload line must not satisfy a wait from the cursor");
        await Task.Yield();
        Assert.That(wait.IsCompleted, Is.False);
        await p.DisposeAsync(); // ends the script; the wait must then fail rather than match old lines
        await Assert.ThrowsAsync<HarnessTimeoutException>(() => wait);
    }

    [Test]
    public async Task Signals_reach_the_process()
    {
        var p = Shell("trap 'echo got-hup; exit 7' HUP; echo ready; while :; do sleep 0.05; done");
        await p.WaitForLineAsync("ready", TimeSpan.FromSeconds(10));
        p.Signal(Signals.SIGHUP);
        await p.WaitForLineAsync("got-hup", TimeSpan.FromSeconds(10));
        Assert.That(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(7));
        Assert.That(() => p.Signal(Signals.SIGTERM), Throws.InvalidOperationException, "signalling an exited process must fail loudly");
    }

    [Test]
    public async Task A_timed_out_wait_names_what_it_awaited_and_shows_the_last_lines()
    {
        var p = Shell("echo 'some context line'; exec sleep 30");
        await p.WaitForLineAsync("some context", TimeSpan.FromSeconds(10));

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<HarnessTimeoutException>(() => p.WaitForPhaseAsync("serving", TimeSpan.FromMilliseconds(300)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(failure!.Message, Does.Contain("phase=serving").And.Contain("some context line").And.Contain($"[{p.Pid}]"));
    }

    [Test]
    public async Task A_wait_fails_as_soon_as_the_process_exits_without_the_line()
    {
        var p = Shell("echo 'fatal: bad things' >&2; exit 1");
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<HarnessTimeoutException>(() => p.WaitForPhaseAsync("serving", TimeSpan.FromSeconds(20)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "must not wait for the full timeout");
        Assert.That(failure!.Message, Does.Contain("exited (code 1)").And.Contain("fatal: bad things"));
    }

    [Test]
    public async Task WaitForExit_is_bounded()
    {
        var p = Shell("exec sleep 30");
        var failure = await Assert.ThrowsAsync<HarnessTimeoutException>(() => p.WaitForExitAsync(TimeSpan.FromMilliseconds(200)));
        Assert.That(failure!.Message, Does.Contain("to exit"));
    }

    [Test]
    public async Task The_error_log_file_is_followed_and_other_pids_lines_are_skipped()
    {
        var log = Path.Combine(_dir, "error.log");
        // $$ is the shell's own pid, i.e. the pid of the started process.
        var p = Shell(
            $"echo \"2025-01-01T00:00:00Z [INF] pingora[1] phase=serving\" >> {log}; " +
            $"echo \"  continuation of the other process\" >> {log}; " +
            $"echo \"2025-01-01T00:00:01Z [INF] pingora[$$] phase=serving\" >> {log}; " +
            $"echo \"  own continuation\" >> {log}; " +
            $"printf 'last line without newline' >> {log}; exit 0",
            followLogFile: log);

        var serving = await p.WaitForPhaseAsync("serving", TimeSpan.FromSeconds(10));
        await p.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.That(serving.Source, Is.EqualTo("log"));
        Assert.That(serving.Text, Does.Contain($"pingora[{p.Pid}]"));
        Assert.That(p.AllText, Does.Not.Contain("pingora[1]").And.Not.Contain("continuation of the other"));
        Assert.That(p.AllText, Does.Contain("own continuation").And.Contain("last line without newline"));
    }

    [Test]
    public async Task A_self_stopped_process_is_seen_in_state_T_and_dies_to_SIGKILL()
    {
        var p = Shell("echo stopping; kill -STOP $$; echo resumed");
        await p.WaitForLineAsync("stopping", TimeSpan.FromSeconds(10));

        var deadline = Stopwatch.StartNew();
        while (Signals.ProcessState(p.Pid) != 'T')
        {
            Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), $"state is {Signals.ProcessState(p.Pid)}, not T");
            await Task.Delay(10);
        }
        p.Signal(Signals.SIGKILL);
        Assert.That(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(128 + Signals.SIGKILL));
        Assert.That(p.AllText, Does.Not.Contain("resumed"));
    }

    [Test]
    public async Task Dispose_kills_a_running_process()
    {
        var p = Shell("trap '' TERM INT QUIT HUP; exec sleep 30");
        await Task.Yield();
        var pid = p.Pid;
        Assert.That(Signals.Exists(pid), Is.True);
        await p.DisposeAsync();
        Assert.That(Signals.Exists(pid), Is.False, "the process must be gone after dispose");
    }

    [Test]
    public async Task The_test_hook_variable_is_not_inherited_unless_asked_for()
    {
        Environment.SetEnvironmentVariable("PINGORA_TEST_STOP_AT", "upgrade-received");
        try
        {
            var plain = Shell("echo \"hook=[$PINGORA_TEST_STOP_AT]\"");
            var hooked = Shell("echo \"hook=[$PINGORA_TEST_STOP_AT]\"", env: new Dictionary<string, string> { ["PINGORA_TEST_STOP_AT"] = "x" });
            await plain.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await hooked.WaitForExitAsync(TimeSpan.FromSeconds(10));
            Assert.That(plain.Stdout, Is.EqualTo("hook=[]"));
            Assert.That(hooked.Stdout, Is.EqualTo("hook=[x]"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PINGORA_TEST_STOP_AT", null);
        }
    }

    [Test]
    public async Task A_detached_process_can_be_adopted_followed_in_its_log_awaited_and_killed()
    {
        var log = Path.Combine(_dir, "adopted.log");
        var marker = Path.Combine(_dir, "detached-marker");
        // As pingora -d: the started shell detaches a grandchild (own session, own stdio) and exits; the grandchild logs
        // under its own pid and keeps running. Its command line names this test's directory, as a daemon's -c does.
        var launcher = Shell(
            "setsid bash -c 'echo \"2025-01-01T00:00:00Z [INF] pingora[$$] phase=serving\" >> " + log + "; " +
            "exec -a " + marker + " sleep 30' </dev/null >/dev/null 2>&1 & echo $!");
        Assert.That(await launcher.WaitForExitAsync(TimeSpan.FromSeconds(10)), Is.Zero);
        Assert.That(launcher.OutputClosed, Is.True, "the detached grandchild holds none of the launcher's output");
        var pid = int.Parse(launcher.Stdout.Trim());

        var adopted = PingoraProcess.Adopt(pid, log);
        _started.Add(adopted);
        var serving = await adopted.WaitForPhaseAsync("serving", TimeSpan.FromSeconds(10));
        Assert.That(serving.Text, Does.Contain($"pingora[{pid}]"));
        Assert.That(ProcessTable.WithCommandLineContaining(marker), Is.EqualTo(new[] { pid }));
        Assert.That(adopted.HasExited, Is.False);
        await Assert.ThrowsAsync<InvalidOperationException>(() => adopted.WaitForExitAsync(TimeSpan.FromSeconds(1)),
            "an adopted process's exit code is its parent's to know");

        adopted.Signal(Signals.SIGTERM);
        await adopted.WaitForGoneAsync(TimeSpan.FromSeconds(10));
        Assert.That(adopted.HasExited, Is.True);
        Assert.That(adopted.ExitCode, Is.Null);
        Assert.That(ProcessTable.WithCommandLineContaining(marker), Is.Empty);
    }
}
