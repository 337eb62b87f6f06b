using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

[TestFixture]
public sealed class RelativePathTests
{
    [Test]
    public void Relative_paths_are_relative_to_the_config_files_directory_not_the_current_one()
    {
        const string yaml = """
            pid_file: run/pingora.pid
            upgrade_sock: ../sock/upgrade.sock
            error_log: error.log
            working_directory: .
            session_affinity_keys_dir: keys
            listeners:
              - address: 127.0.0.1:8080
            """;
        var result = ConfigLoader.Parse(yaml, "/srv/pingora/conf/pingora.yaml");
        Assert.That(result.Errors, Is.Empty);
        var server = result.Config!.Server;
        Assert.That(new[] { server.PidFile, server.UpgradeSock, server.ErrorLog, server.WorkingDirectory, server.SessionAffinityKeysDir },
            Is.EqualTo(new[] { "/srv/pingora/conf/run/pingora.pid", "/srv/pingora/sock/upgrade.sock", "/srv/pingora/conf/error.log",
                               "/srv/pingora/conf", "/srv/pingora/conf/keys" }));
    }

    [Test]
    public void Absolute_paths_and_defaults_stay_as_written()
    {
        var result = ConfigLoader.Parse("error_log: /var/log/pingora.log\nlisteners:\n  - address: 127.0.0.1:8080\n", "conf/p.yaml");
        Assert.That(result.Config!.Server.ErrorLog, Is.EqualTo("/var/log/pingora.log"));
        Assert.That(result.Config.Server.PidFile, Is.EqualTo("/tmp/pingora.pid"));
    }
}
