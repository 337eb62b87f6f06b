using NUnit.Framework;
using Pingora.Proxy.Files;

namespace Pingora.Proxy.Tests.Files;

[TestFixture]
public sealed class SharedDirectoryTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pingora-dir-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [TestCase(0x1ED, ExpectedResult = true, TestName = "0755 is fine")]
    [TestCase(0x3FF, ExpectedResult = true, TestName = "1777 (sticky, as /tmp) is fine")]
    [TestCase(0x1FF, ExpectedResult = false, TestName = "0777 is refused")]
    [TestCase(0x1FB, ExpectedResult = false, TestName = "0773 is refused")]
    public bool A_world_writable_directory_needs_the_sticky_bit(int mode)
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)mode);
        return SharedDirectory.Refusal(Path.Combine(_dir, "pingora.pid"), "pid_file") is null;
    }

    [Test]
    public void The_refusal_names_the_key_the_file_and_the_directory()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1FF);
        var path = Path.Combine(_dir, "upgrade.sock");
        var error = Assert.Throws<IOException>(() => SharedDirectory.Check(path, "upgrade_sock"));
        Assert.That(error!.Message, Does.StartWith($"upgrade_sock {path}: directory {_dir} is writable by every user and has no sticky bit"));
    }

    [Test]
    public void The_real_tmp_is_fine() => Assert.That(SharedDirectory.Refusal("/tmp/pingora.pid", "pid_file"), Is.Null);
}
