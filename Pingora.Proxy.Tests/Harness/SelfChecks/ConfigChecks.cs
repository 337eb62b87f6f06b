using NUnit.Framework;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The config builder emits YAML of the contract's shape, and LineOf points at the right lines, since the
/// negative -t tests depend on both.</summary>
[TestFixture]
[Category("Harness")]
public sealed class ConfigChecks
{
    private static YamlMappingNode Load(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node is YamlSequenceNode seq ? seq.Children[int.Parse(key)] : ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }
        return ((YamlScalarNode)node).Value!;
    }

    [Test]
    public void Rendered_config_has_the_contract_shape()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pingora-e2e", "cfg");
        using var cert = TestCertificate.Create(Path.Combine(dir, Guid.NewGuid().ToString("N")[..8]));
        var config = new TestConfig(dir);
        var plain = config.AddListener();
        config.AddListener(cert, ["http1", "http2"]);
        config.AddRoute("r1", "c1", "/api/{**rest}", "a.test", "b.test").Transform(("PathRemovePrefix", "/api"))
            .Transform(("RequestHeader", "X-Foo"), ("Set", "bar"));
        config.Route("r1").Order = 5;
        config.AddCluster("c1", "http://127.0.0.1:1/", "http://127.0.0.1:2/").LoadBalancingPolicy = "RoundRobin";
        config.CloseTimeoutSeconds = 0.5;

        var root = Load(config.Render());

        Assert.That(Scalar(root, "version"), Is.EqualTo("1"));
        Assert.That(Scalar(root, "pid_file"), Is.EqualTo(config.PidFile));
        Assert.That(Scalar(root, "upgrade_sock"), Is.EqualTo(config.UpgradeSock));
        Assert.That(Scalar(root, "status_path"), Is.EqualTo("/status"));
        Assert.That(Scalar(root, "close_timeout_seconds"), Is.EqualTo("0.5"));
        Assert.That(Scalar(root, "listeners", "0", "address"), Is.EqualTo($"127.0.0.1:{plain.Port}"));
        Assert.That(Scalar(root, "listeners", "1", "tls", "certificate_path"), Is.EqualTo(cert.CertificatePath));
        Assert.That(Scalar(root, "listeners", "1", "tls", "key_path"), Is.EqualTo(cert.KeyPath));
        Assert.That(Scalar(root, "listeners", "1", "protocols", "1"), Is.EqualTo("http2"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "ClusterId"), Is.EqualTo("c1"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Order"), Is.EqualTo("5"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Match", "Path"), Is.EqualTo("/api/{**rest}"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Match", "Hosts", "1"), Is.EqualTo("b.test"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Transforms", "0", "PathRemovePrefix"), Is.EqualTo("/api"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Transforms", "1", "RequestHeader"), Is.EqualTo("X-Foo"));
        Assert.That(Scalar(root, "ReverseProxy", "Routes", "r1", "Transforms", "1", "Set"), Is.EqualTo("bar"));
        Assert.That(Scalar(root, "ReverseProxy", "Clusters", "c1", "LoadBalancingPolicy"), Is.EqualTo("RoundRobin"));
        Assert.That(Scalar(root, "ReverseProxy", "Clusters", "c1", "Destinations", "d2", "Address"), Is.EqualTo("http://127.0.0.1:2/"));
        Assert.That(root.Children.ContainsKey(new YamlScalarNode("error_log")), Is.False, "no error_log unless asked: the log goes to stderr");
    }

    [Test]
    public void LineOf_finds_the_line_a_bent_value_is_on()
    {
        var config = new TestConfig("/tmp/pingora-e2e/cfg");
        config.AddListener().RawAddress = "\"127.0.0.1\"";
        config.AddRoute("r1", "c1", "/{**rest}");
        config.AddRoute("r1", "c1", "/dup/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:1/").SessionAffinityPolicy = "HashCookie";
        config.RawServerValues["grace_period_seconds"] = "soon";
        config.ExtraTopLevelLines.Add("grace_period_secs: 5");

        var lines = config.Render().Split('\n');
        Assert.That(lines[config.LineOf("grace_period_seconds: ") - 1], Is.EqualTo("grace_period_seconds: soon"));
        Assert.That(lines[config.LineOf("grace_period_secs:") - 1], Is.EqualTo("grace_period_secs: 5"));
        Assert.That(lines[config.LineOf("address:") - 1], Is.EqualTo("  - address: \"127.0.0.1\""));
        Assert.That(config.LineOf("    r1:", 2), Is.GreaterThan(config.LineOf("    r1:", 1)));
        Assert.That(lines[config.LineOf("Policy: HashCookie") - 1].Trim(), Is.EqualTo("Policy: HashCookie"));

        // A duplicate mapping key is what YAML parsers reject, at the second occurrence.
        var duplicate = Assert.Throws<YamlDotNet.Core.YamlException>(() => Load(config.Render()));
        Assert.That(duplicate!.Start.Line, Is.EqualTo(config.LineOf("    r1:", 2)));
    }

    [Test]
    public void Write_replaces_the_file_atomically_and_returns_its_path()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pingora-e2e", "cfg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var config = new TestConfig(dir);
            config.AddListener();
            var path = config.Write();
            Assert.That(path, Is.EqualTo(config.Path));
            Assert.That(File.ReadAllText(path), Is.EqualTo(config.Render()));
            Assert.That(File.Exists(path + ".tmp"), Is.False);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
