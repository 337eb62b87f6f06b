using System.Net.Sockets;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The base fixture's teardown really ends what a test started. PINGORA_BIN points at /bin/sh so that no
/// daemon is needed: "pingora -c SCRIPT" becomes "sh -c SCRIPT".</summary>
[TestFixture]
[Category("Harness")]
public sealed class FixtureChecks : PingoraTestBase
{
    [Test]
    public async Task Teardown_kills_processes_that_ignore_signals_and_stops_backends_and_load()
    {
        var saved = Environment.GetEnvironmentVariable(RepoPaths.BinaryEnvVar);
        Environment.SetEnvironmentVariable(RepoPaths.BinaryEnvVar, "/bin/sh");
        PingoraProcess stubborn;
        try
        {
            stubborn = StartPingora(["-c", "trap '' TERM INT QUIT HUP; echo up; while :; do sleep 0.05; done"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(RepoPaths.BinaryEnvVar, saved);
        }
        await stubborn.WaitForLineAsync("up", Timeouts.Phase);
        var backend = await StartBackendAsync("A");
        var load = StartLoad(new LoadClientOptions { BaseUri = backend.BaseUri, Paths = ["/echo/x"] });
        await load.WaitUntilAsync(s => s.Successes > 0, "a first success", Timeouts.Phase);

        await TearDownTrackedResourcesAsync();

        Assert.That(Signals.Exists(stubborn.Pid), Is.False, "the process must be killed");
        Assert.That(stubborn.ExitCode, Is.EqualTo(128 + Signals.SIGKILL));
        Assert.That(load.IsRunning, Is.False, "the load must be stopped");
        using var probe = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await probe.ConnectAsync("127.0.0.1", backend.Port));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused), "the backend must be stopped");
    }
}
