using Mono.Unix.Native;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// deploy/install.sh and deploy/upgrade.sh into a temporary prefix, with the binary under test (--binary): a working
/// install, a second run that changes nothing and keeps the operator's config, and a binary replaced by rename so that
/// a running copy keeps its file.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DeployScriptTests : PingoraTestBase
{
    private string Prefix => Path.Combine(TempDir, "root");
    private string InstalledBinary => Path.Combine(Prefix, "usr/local/bin/pingora");
    private string InstalledConfig => Path.Combine(Prefix, "etc/pingora.conf");
    private string InstalledUnit => Path.Combine(Prefix, "etc/systemd/system/pingora.service");

    [Test]
    public async Task Install_gives_a_working_install_and_a_second_run_changes_nothing()
    {
        var first = await RunScriptAsync("install.sh", RepoPaths.RequireBinary());

        Assert.That(await Sha256Async(InstalledBinary), Is.EqualTo(await Sha256Async(RepoPaths.RequireBinary())),
            "the installed binary is the one given");
        Assert.That(File.GetUnixFileMode(InstalledBinary), Is.EqualTo((UnixFileMode)0x1ED), "mode 0755"); // rwxr-xr-x
        var config = await File.ReadAllLinesAsync(InstalledConfig);
        Assert.That(config, Is.SupersetOf(new[]
        {
            "pid_file: /run/pingora/pingora.pid", "upgrade_sock: /run/pingora/upgrade.sock",
            "error_log: /var/log/pingora/error.log", "access_log: /var/log/pingora/access.log", "daemon_wait_for_ready: true",
        }), "the example, adapted to the unit's directories and readiness");
        var check = StartProcess(InstalledBinary, ["-t", "-c", InstalledConfig]);
        Assert.That(await check.WaitForExitAsync(Timeouts.Startup), Is.Zero, check.LastLines());
        var unit = SystemdUnit.Load(InstalledUnit);
        Assert.That(unit.Single("Service", "ExecStart"), Is.EqualTo($"{InstalledBinary} -d -c {InstalledConfig}"),
            "under a prefix the unit runs what was installed there");
        if (SystemdAnalyze is not null) await AssertUnitVerifiesAsync(InstalledUnit);
        else await TestContext.Out.WriteLineAsync("systemd-analyze is not installed: the installed unit was not verified");
        Assert.That(first.Stdout, Does.Contain("not started"), "no systemctl under a prefix");
        Assert.That(await File.ReadAllTextAsync(Path.Combine(Prefix, "etc/logrotate.d/pingora")),
            Is.EqualTo(await File.ReadAllTextAsync(Path.Combine(RepoPaths.RepoRoot, "deploy/pingora.logrotate"))), "the logrotate file is installed");

        // The operator edits the config; a second run must keep the edit and touch nothing else either.
        await File.AppendAllTextAsync(InstalledConfig, "# edited by the operator\n");
        var before = Snapshot(Prefix);
        var second = await RunScriptAsync("install.sh", RepoPaths.RequireBinary());

        Assert.That(Snapshot(Prefix), Is.EqualTo(before), "the second run changed files under the prefix");
        Assert.That(second.Stdout, Does.Contain($"kept: {InstalledConfig}").And.Contain($"unchanged: {InstalledBinary}"));
    }

    [Test]
    public async Task Upgrade_replaces_the_binary_by_rename_and_a_running_copy_keeps_its_file()
    {
        await RunScriptAsync("install.sh", RepoPaths.RequireBinary());
        var proxy = NewConfig();
        var listener = proxy.AddListener();
        proxy.AddRoute("all", "c1", "/{**rest}");
        proxy.AddCluster("c1", "http://127.0.0.1:9/");
        proxy.Write();
        var running = StartProcess(InstalledBinary, ["-c", proxy.Path]);
        await running.WaitForPhaseAsync("serving", Timeouts.Startup);
        var inodeBefore = Inode(InstalledBinary);

        // A different build: an ELF executable (and a single-file bundle, found from its header) runs with a byte appended.
        var newBinary = Path.Combine(TempDir, "pingora-new");
        File.Copy(RepoPaths.RequireBinary(), newBinary);
        await File.AppendAllTextAsync(newBinary, "\n");
        File.SetUnixFileMode(newBinary, (UnixFileMode)0x1ED);
        var upgrade = await RunScriptAsync("upgrade.sh", newBinary);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(new FileInfo(InstalledBinary).Length, Is.EqualTo(new FileInfo(newBinary).Length), "the new binary is installed");
            Assert.That(Inode(InstalledBinary), Is.Not.EqualTo(inodeBefore), "installed by rename, not written in place");
            Assert.That(new FileInfo($"/proc/{running.Pid}/exe").LinkTarget, Does.EndWith("(deleted)"),
                "the running process keeps the old file");
            Assert.That(upgrade.Stdout, Does.Contain($"{InstalledBinary} -u -d -c {InstalledConfig}"),
                "without systemd it prints the manual steps");
        }
        Assert.That((await NewClient().GetStatusAsync(listener.Url("/status"))).Pid, Is.EqualTo(running.Pid), "and keeps serving");

        var again = await RunScriptAsync("upgrade.sh", newBinary);
        Assert.That(again.Stdout, Does.Contain($"unchanged: {InstalledBinary}"));
    }

    private async Task<PingoraProcess> RunScriptAsync(string script, string binary)
    {
        var run = StartProcess("/bin/bash", [Path.Combine(RepoPaths.RepoRoot, "deploy", script), "--prefix", Prefix, "--binary", binary]);
        Assert.That(await run.WaitForExitAsync(Timeouts.Startup), Is.Zero, run.LastLines());
        return run;
    }

    private static async Task<string> Sha256Async(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexString(await System.Security.Cryptography.SHA256.HashDataAsync(file));
    }

    private static ulong Inode(string path)
    {
        Assert.That(Syscall.stat(path, out var stat), Is.Zero, $"stat {path}");
        return stat.st_ino;
    }

    /// <summary>Every file and directory under <paramref name="root"/> with what a rewrite would change: inode,
    /// size, mode and modification time.</summary>
    private static string[] Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(path =>
        {
            Assert.That(Syscall.lstat(path, out var stat), Is.Zero, $"lstat {path}");
            return $"{path} ino={stat.st_ino} size={stat.st_size} mode={stat.st_mode} mtime={stat.st_mtime}.{stat.st_mtime_nsec}";
        }).ToArray();
}
