using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

[TestFixture]
[Category("Harness")]
public sealed class MiscChecks
{
    [Test]
    public void Repo_root_holds_the_solution_and_the_binary_path_follows_PINGORA_BIN()
    {
        Assert.That(File.Exists(Path.Combine(RepoPaths.RepoRoot, "Pingora.sln")), Is.True, RepoPaths.RepoRoot);
        var saved = Environment.GetEnvironmentVariable(RepoPaths.BinaryEnvVar);
        try
        {
            Environment.SetEnvironmentVariable(RepoPaths.BinaryEnvVar, null);
            Assert.That(RepoPaths.BinaryPath, Is.EqualTo(Path.Combine(RepoPaths.RepoRoot, "artifacts", "pingora", "pingora")));
            Environment.SetEnvironmentVariable(RepoPaths.BinaryEnvVar, "/opt/somewhere/pingora");
            Assert.That(RepoPaths.BinaryPath, Is.EqualTo("/opt/somewhere/pingora"));
            var failure = Assert.Throws<AssertionException>(() => RepoPaths.RequireBinary());
            Assert.That(failure!.Message, Does.Contain("pingora binary not found at /opt/somewhere/pingora").And.Contain("dotnet publish"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(RepoPaths.BinaryEnvVar, saved);
        }
    }

    [Test]
    public void Free_ports_are_distinct_and_bindable()
    {
        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Next()).ToArray();
        Assert.That(ports, Is.Unique);
        foreach (var port in ports.Take(3))
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
        }
    }

    [Test]
    public async Task A_dead_socket_file_stays_on_disk_and_refuses_connections()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pingora-e2e", "sock-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, "upgrade.sock");
            UnixSocketFile.CreateDead(path);

            using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
            var type = (await stat.StandardOutput.ReadToEndAsync()).Trim();
            await stat.WaitForExitAsync();
            Assert.That(type, Is.EqualTo("socket"));

            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var refused = await Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync(new UnixDomainSocketEndPoint(path)));
            Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task The_throttled_stream_reads_in_small_pieces_with_pauses()
    {
        var data = new byte[10_000];
        BytePattern.Fill(data, 0);
        await using var throttled = new ThrottledStream(new MemoryStream(data), 1000, TimeSpan.FromMilliseconds(5));
        var clock = Stopwatch.StartNew();
        var buffer = new byte[4096];
        var reads = 0;
        using var copy = new MemoryStream();
        int n;
        while ((n = await throttled.ReadAsync(buffer)) > 0)
        {
            Assert.That(n, Is.LessThanOrEqualTo(1000));
            copy.Write(buffer, 0, n);
            reads++;
        }
        Assert.That(reads, Is.EqualTo(10));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)));
        Assert.That(copy.ToArray(), Is.EqualTo(data));
    }
}
