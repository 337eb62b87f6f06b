using NUnit.Framework;
using Pingora.Proxy.Cli;

namespace Pingora.Proxy.Tests.Cli;

[TestFixture]
public sealed class CommandLineTests
{
    [Test]
    public void Defaults_to_etc_pingora_conf_and_serving()
    {
        var cli = CommandLine.Parse([]);
        Assert.That(cli, Is.EqualTo(new CommandLine("/etc/pingora.conf", false, false, false, false, false)));
    }

    [TestCase("-c a.yaml -d -u")]
    [TestCase("--conf a.yaml --daemon --upgrade")]
    [TestCase("--conf=a.yaml -du")]
    [TestCase("-udc a.yaml")]
    public void Short_long_and_combined_forms_mean_the_same(string line)
    {
        var cli = CommandLine.Parse(line.Split(' '));
        Assert.That((cli.ConfigPath, cli.Daemon, cli.Upgrade, cli.Test), Is.EqualTo(("a.yaml", true, true, false)));
    }

    [Test]
    public void Test_help_and_version_flags()
    {
        Assert.That(CommandLine.Parse(["-t"]).Test, Is.True);
        Assert.That(CommandLine.Parse(["--test"]).Test, Is.True);
        Assert.That(CommandLine.Parse(["-h"]).Help, Is.True);
        Assert.That(CommandLine.Parse(["--version"]).Version, Is.True);
        Assert.That(CommandLine.Parse(["-V"]).Version, Is.True);
    }

    [TestCase(new[] { "-x" }, "unknown flag '-x'")]
    [TestCase(new[] { "--frobnicate" }, "unknown flag '--frobnicate'")]
    [TestCase(new[] { "-dx" }, "unknown flag '-x' in '-dx'")]
    [TestCase(new[] { "serve" }, "unexpected argument 'serve'")]
    [TestCase(new[] { "-c" }, "-c needs a file name")]
    [TestCase(new[] { "-cd", "a.yaml" }, "-c takes a file name, so it must come last in '-cd'")]
    public void Mistakes_are_usage_errors(string[] args, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(args));
        Assert.That(error!.Message, Is.EqualTo(message));
    }
}
