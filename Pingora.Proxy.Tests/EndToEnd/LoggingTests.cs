using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Log lines have the contract's shape, and go to error_log instead of stderr when it is set.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class LoggingTests : PingoraTestBase
{
    private static Regex LinePattern(int pid, string message) => new(
        $@"^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(\.\d+)?(Z|[+-]\d{{2}}:?\d{{2}}) \[INF\] pingora\[{pid}\] {message}");

    private async Task<TestConfig> ConfigAsync()
    {
        var a = await StartBackendAsync("A");
        var config = NewConfig();
        config.AddListener();
        config.AddRoute("r1", "c1", "/echo/{**rest}");
        config.AddCluster("c1", a);
        return config;
    }

    [Test]
    public async Task Lifecycle_lines_on_stderr_carry_time_level_and_pid()
    {
        var config = await ConfigAsync();
        var pingora = await StartServingAsync(config);
        var serving = pingora.FindPhase("serving")!;

        Assert.That(serving.Source, Is.EqualTo("stderr"));
        Assert.That(serving.Text, Does.Match(LinePattern(pingora.Pid, "phase=serving")));
        Assert.That(pingora.Lines.Count(l => PingoraProcess.PhasePattern("serving").IsMatch(l.Text)), Is.EqualTo(1),
            "phase=serving is logged once\n" + pingora.LastLines());
    }

    [Test]
    public async Task With_error_log_set_the_log_goes_to_the_file_and_not_to_stderr()
    {
        var config = await ConfigAsync();
        config.ErrorLog = Path.Combine(TempDir, "error.log");
        var pingora = await StartServingAsync(config);
        pingora.Signal(Signals.SIGTERM);
        var code = await pingora.WaitForExitAsync(Timeouts.AfterConfigured(config.GracefulShutdownTimeoutSeconds));

        var serving = pingora.FindPhase("serving")!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero);
            Assert.That(serving.Source, Is.EqualTo("log"), "phase=serving should come from the error_log file");
            Assert.That(serving.Text, Does.Match(LinePattern(pingora.Pid, "phase=serving")));
            Assert.That(File.ReadAllText(config.ErrorLog), Does.Contain("phase=exit"));
            Assert.That(pingora.Stderr, Does.Not.Contain("phase="), "with error_log set, stderr must not carry the log");
        }
    }
}
