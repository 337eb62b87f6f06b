using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// More connections than the process has file descriptors for: it pauses accepting (the kernel queues the rest),
/// reports that a bounded number of times with a count, stays alive, and serves again once connections close.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DescriptorExhaustionTests : PingoraTestBase
{
    private const string Prlimit = "/usr/bin/prlimit";

    /// <summary>The limit of the issue's report; the process holds about 30 of them at idle (a single-file build about 200).</summary>
    private const int DescriptorLimit = 256;

    /// <summary>Well beyond what fits under the limit, well within the listen backlog.</summary>
    private const int HeldConnections = 400;

    [Test]
    public async Task Out_of_descriptors_the_daemon_pauses_accepting_stays_alive_and_serves_again_once_connections_close()
    {
        if (!File.Exists(Prlimit)) Assert.Ignore($"{Prlimit} (util-linux) is needed to start the daemon under a low RLIMIT_NOFILE");
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        config.Write();
        var pingora = StartProcess(Prlimit, [$"--nofile={DescriptorLimit}:{DescriptorLimit}", "--", RepoPaths.RequireBinary(), "-c", config.Path]);
        await pingora.WaitForPhaseAsync("serving", Timeouts.Startup);

        var held = new List<TcpClient>();
        try
        {
            for (var i = 0; i < HeldConnections; i++)
            {
                var client = new TcpClient(AddressFamily.InterNetwork);
                held.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, listener.Port).WaitAsync(Timeouts.Request);
            }
            var paused = await pingora.WaitForLineAsync("accepting paused", Timeouts.Phase);
            Assert.That(paused.Text, Does.Match(@"paused \d+ times in the last \d+ s; \d+ connections open"), paused.Text);
            Assert.That(pingora.HasExited, Is.False, () => "the daemon died out of descriptors\n" + pingora.LastLines());
        }
        finally
        {
            foreach (var client in held) client.Dispose();
        }

        await pingora.WaitForLineAsync("accepting again", Timeouts.Phase);
        var status = await NewClient().GetStatusAsync(listener.Url("/status"));
        Assert.That(status.Pid, Is.EqualTo(pingora.Pid), "the daemon serves again once the held connections closed");
        Assert.That((await NewClient().GetEchoAsync(listener.Url("/echo/after"))).Backend, Is.EqualTo("A"),
            "and proxies again: upstream connections need descriptors too");

        var pauses = pingora.Lines.Count(l => l.Text.Contains("accepting paused", StringComparison.Ordinal));
        Assert.That(pauses, Is.InRange(1, 3), () => "pauses are reported once per interval, not once per attempt\n" + pingora.LastLines());
        Assert.That(pingora.AllText, Does.Not.Contain("OutOfMemoryException").And.Not.Contain("[FTL]"), pingora.LastLines());
    }
}
