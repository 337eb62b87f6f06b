using Mono.Unix.Native;
using NUnit.Framework;
using Pingora.Proxy.Daemon;
using Pingora.Proxy.Files;

namespace Pingora.Proxy.Tests.Files;

[TestFixture]
public sealed class SafeFileTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pingora-files-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private string In(string name) => Path.Combine(_dir, name);

    [Test]
    public void OpenAppend_creates_a_missing_file_with_mode_0640()
    {
        using (SafeFile.OpenAppend(In("e.log"), "error_log")) { }
        Assert.That(File.GetUnixFileMode(In("e.log")) & ~UnixFileMode.None, Is.EqualTo((UnixFileMode)0x1A0).Or.EqualTo((UnixFileMode)0x180));
    }

    [Test]
    public void OpenAppend_refuses_a_symlink_even_to_a_missing_file()
    {
        File.CreateSymbolicLink(In("e.log"), In("created-through-the-link"));
        var error = Assert.Throws<IOException>(() => SafeFile.OpenAppend(In("e.log"), "error_log"));
        Assert.That(error!.Message, Is.EqualTo($"error_log {In("e.log")}: is a symbolic link; refusing to follow it (remove it, or point error_log at the real file)"));
        Assert.That(File.Exists(In("created-through-the-link")), Is.False);
    }

    [Test]
    public void OpenAppend_refuses_a_hard_link()
    {
        File.WriteAllText(In("other"), "");
        Assert.That(Syscall.link(In("other"), In("e.log")), Is.Zero);
        var error = Assert.Throws<IOException>(() => SafeFile.OpenAppend(In("e.log"), "error_log"));
        Assert.That(error!.Message, Does.Contain("has 2 hard links"));
    }

    [Test]
    public void OpenAppend_refuses_a_fifo_without_blocking()
    {
        Assert.That(Syscall.mkfifo(In("e.log"), FilePermissions.S_IRUSR | FilePermissions.S_IWUSR), Is.Zero);
        var error = Assert.Throws<IOException>(() => SafeFile.OpenAppend(In("e.log"), "error_log"));
        Assert.That(error!.Message, Does.Contain("ENXIO").Or.Contain("not a regular file"));
    }

    [Test]
    public void OpenAppend_refuses_a_directory()
    {
        Directory.CreateDirectory(In("e.log"));
        Assert.Throws<IOException>(() => SafeFile.OpenAppend(In("e.log"), "error_log"));
    }

    [Test]
    public void OpenAppend_gives_the_file_to_the_owner_by_descriptor()
    {
        if (Syscall.geteuid() != 0) Assert.Ignore("only root can give a file away");
        using (SafeFile.OpenAppend(In("e.log"), "error_log", (65534u, 65534u))) { }
        Assert.That(Syscall.stat(In("e.log"), out var stat), Is.Zero);
        Assert.That((stat.st_uid, stat.st_gid), Is.EqualTo((65534u, 65534u)));
    }

    [Test]
    public void CreateTemporary_names_are_unpredictable_and_never_reuse_what_is_there()
    {
        var (a, pathA) = SafeFile.CreateTemporary(In("p.pid"), "pid_file", FilePermissions.S_IRUSR | FilePermissions.S_IWUSR);
        var (b, pathB) = SafeFile.CreateTemporary(In("p.pid"), "pid_file", FilePermissions.S_IRUSR | FilePermissions.S_IWUSR);
        a.Dispose();
        b.Dispose();
        Assert.That(pathA, Does.StartWith(In("p.pid.")).And.EndWith(".tmp"));
        Assert.That(pathA, Is.Not.EqualTo(pathB));
        Assert.That(pathA, Does.Not.Contain(Environment.ProcessId.ToString()));
    }

    [Test]
    public void The_pid_file_is_written_through_a_new_file_and_renamed_over_a_planted_symlink()
    {
        var target = In("target");
        File.WriteAllText(target, "precious\n");
        var pidFile = new PidFile(In("p.pid"));
        File.CreateSymbolicLink(pidFile.Path, target);
        pidFile.Commit(pidFile.Prepare());
        Assert.That(File.ReadAllText(target), Is.EqualTo("precious\n"));
        Assert.That(pidFile.Read(), Is.EqualTo(Environment.ProcessId));
        Assert.That(new FileInfo(pidFile.Path).LinkTarget, Is.Null, "the symlink itself was replaced");
        Assert.That(Directory.GetFiles(_dir, "*.tmp"), Is.Empty);
    }

    [Test]
    public void Chown_by_path_refuses_a_symlink()
    {
        File.WriteAllText(In("target"), "");
        File.CreateSymbolicLink(In("keys"), In("target"));
        var error = Assert.Throws<IOException>(() => SafeFile.Chown(In("keys"), "session_affinity_keys_dir", 65534, 65534));
        Assert.That(error!.Message, Does.Contain("is a symbolic link"));
    }
}
