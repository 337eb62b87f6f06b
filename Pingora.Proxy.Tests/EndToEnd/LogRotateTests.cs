using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// deploy/pingora.logrotate, as shipped but for its paths and user (pointed at the test's directory, pid file and
/// user): logrotate -d accepts it, and a forced rotation of a serving pingora moves the old lines aside while the new
/// ones land in the new files, none lost.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class LogRotateTests : PingoraTestBase
{
    private const string Logrotate = "/usr/sbin/logrotate";

    private string Adapted(TestConfig config, string logs)
    {
        var user = Environment.UserName;
        var text = File.ReadAllText(Path.Combine(RepoPaths.RepoRoot, "deploy/pingora.logrotate"))
            .Replace("/var/log/pingora/", logs + "/")
            .Replace("/run/pingora/pingora.pid", config.PidFile)
            .Replace("su pingora pingora", $"su {user} {user}")
            .Replace("create 0640 pingora pingora", $"create 0640 {user} {user}");
        var path = Path.Combine(TempDir, "logrotate.conf");
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // logrotate refuses writable configs
        return path;
    }

    [Test]
    public async Task The_shipped_file_passes_logrotate_d_and_a_forced_rotation_reopens_the_logs_losing_no_line()
    {
        if (!File.Exists(Logrotate)) Assert.Ignore("logrotate is not installed (apt-get install logrotate; .ci/run does)");
        var backend = await StartBackendAsync("A");
        var logs = Path.Combine(TempDir, "logs");
        Directory.CreateDirectory(logs);
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        config.ErrorLog = Path.Combine(logs, "error.log");
        config.AccessLog = Path.Combine(logs, "access.log");
        var conf = Adapted(config, logs);
        var state = Path.Combine(TempDir, "logrotate.state");

        var check = StartProcess(Logrotate, ["-d", "-s", state, conf]);
        Assert.That(await check.WaitForExitAsync(Timeouts.Phase), Is.Zero, check.LastLines(40));
        Assert.That(check.AllText, Does.Contain("rotating pattern").And.Not.Contain("error:"), check.LastLines(40));

        var pingora = await StartServingAsync(config);
        using var client = NewClient();
        const int before = 10, after = 10;
        for (var i = 0; i < before; i++) (await client.GetAsync(listener.Url("/echo/before"))).EnsureSuccessStatusCode();
        await pingora.WaitForLineAsync("phase=serving", Timeouts.Phase); // error_log has content to rotate
        // And access.log, once its gathered lines are written: the shipped file's notifempty skips an empty one.
        await LogFileFollower.WaitForLinesAsync(config.AccessLog, before, pingora);

        var from = pingora.LineCount;
        var rotate = StartProcess(Logrotate, ["-f", "-s", state, conf]);
        Assert.That(await rotate.WaitForExitAsync(Timeouts.Phase), Is.Zero, rotate.LastLines(40));
        await pingora.WaitForLineAsync("SIGUSR1: log files reopened", Timeouts.Phase, from);
        for (var i = 0; i < after; i++) (await client.GetAsync(listener.Url("/echo/after"))).EnsureSuccessStatusCode();
        await LogFileFollower.WaitForLinesAsync(config.AccessLog, after, pingora);

        using (Assert.EnterMultipleScope())
        {
            var rotated = File.ReadAllLines(config.AccessLog + ".1");
            Assert.That(rotated, Has.Length.EqualTo(before));
            Assert.That(rotated, Has.All.Contain("/echo/before"));
            Assert.That(File.ReadAllLines(config.AccessLog), Has.Length.EqualTo(after).And.All.Contain("/echo/after"));
            Assert.That(File.ReadAllText(config.ErrorLog + ".1"), Does.Contain("phase=serving"));
            Assert.That(File.ReadAllText(config.ErrorLog), Does.Contain("SIGUSR1: log files reopened"));
            Assert.That(Signals.Exists(pingora.Pid), Is.True);
        }
    }
}
