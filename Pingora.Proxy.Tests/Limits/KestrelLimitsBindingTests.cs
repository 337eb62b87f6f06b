using Microsoft.AspNetCore.Server.Kestrel.Core;
using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Limits;

namespace Pingora.Proxy.Tests.Limits;

/// <summary>
/// The <c>Kestrel: Limits:</c> section binds onto Kestrel's own KestrelServerLimits: Kestrel's names, Kestrel's
/// defaults where the file is silent, Kestrel's setter rules as located errors, and a reload that changes a limit
/// is reported as needing an upgrade.
/// </summary>
[TestFixture]
public sealed class KestrelLimitsBindingTests
{
    private const string Listener = """
        listeners:
          - address: 127.0.0.1:8080

        """;

    private static ConfigLoadResult Load(string kestrel) => ConfigLoader.Parse(Listener + kestrel, "test.yaml");

    private static PingoraConfig LoadOk(string kestrel)
    {
        var result = Load(kestrel);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        return result.Config!;
    }

    [Test]
    public void Every_kind_of_limit_binds_as_in_appsettings_json()
    {
        var limits = LoadOk("""
            Kestrel:
              Limits:
                MaxConcurrentConnections: 100
                MaxConcurrentUpgradedConnections: 10
                MaxRequestBodySize: 1048576
                MaxRequestHeadersTotalSize: 16384
                MaxRequestHeaderCount: 50
                MaxRequestLineSize: 4096
                KeepAliveTimeout: "00:00:30"
                RequestHeadersTimeout: 00:00:05
                MinRequestBodyDataRate: { BytesPerSecond: 100, GracePeriod: "00:00:10" }
                MinResponseDataRate: null
                Http2:
                  MaxStreamsPerConnection: 50
                  KeepAlivePingDelay: "00:00:20"
            """).Kestrel.Limits;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(limits.MaxConcurrentConnections, Is.EqualTo(100));
            Assert.That(limits.MaxConcurrentUpgradedConnections, Is.EqualTo(10));
            Assert.That(limits.MaxRequestBodySize, Is.EqualTo(1048576));
            Assert.That(limits.MaxRequestHeadersTotalSize, Is.EqualTo(16384));
            Assert.That(limits.MaxRequestHeaderCount, Is.EqualTo(50));
            Assert.That(limits.MaxRequestLineSize, Is.EqualTo(4096));
            Assert.That(limits.KeepAliveTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(limits.RequestHeadersTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(limits.MinRequestBodyDataRate!.BytesPerSecond, Is.EqualTo(100));
            Assert.That(limits.MinRequestBodyDataRate.GracePeriod, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(limits.MinResponseDataRate, Is.Null, "null turns the rate off, as in appsettings.json");
            Assert.That(limits.Http2.MaxStreamsPerConnection, Is.EqualTo(50));
            Assert.That(limits.Http2.KeepAlivePingDelay, Is.EqualTo(TimeSpan.FromSeconds(20)));
        }
    }

    [Test]
    public void What_the_file_leaves_out_keeps_Kestrels_default()
    {
        var limits = LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: null\n").Kestrel.Limits;
        var kestrel = new KestrelServerLimits();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(limits.MaxRequestBodySize, Is.Null, "null is unlimited, not the default");
            Assert.That(limits.MaxRequestHeadersTotalSize, Is.EqualTo(kestrel.MaxRequestHeadersTotalSize));
            Assert.That(limits.KeepAliveTimeout, Is.EqualTo(kestrel.KeepAliveTimeout));
            Assert.That(limits.MinRequestBodyDataRate!.BytesPerSecond, Is.EqualTo(kestrel.MinRequestBodyDataRate!.BytesPerSecond));
            Assert.That(limits.Http2.MaxStreamsPerConnection, Is.EqualTo(kestrel.Http2.MaxStreamsPerConnection));
            Assert.That(LoadOk("").Kestrel.Limits.MaxConcurrentConnections, Is.Null);
        }
    }

    private static IEnumerable<TestCaseData> BadValues()
    {
        TestCaseData Case(string name, string yaml, int line, string key, string message) =>
            new TestCaseData(yaml, line, key, message).SetArgDisplayNames(name);
        // Line 5 is the first key under Limits (the listener takes lines 1-2).
        yield return Case("negative size", "    MaxRequestHeadersTotalSize: -1", 5, "Kestrel.Limits.MaxRequestHeadersTotalSize", "positive number");
        yield return Case("negative body size", "    MaxRequestBodySize: -1", 5, "Kestrel.Limits.MaxRequestBodySize", "non-negative");
        yield return Case("zero connections", "    MaxConcurrentConnections: 0", 5, "Kestrel.Limits.MaxConcurrentConnections", "positive number");
        yield return Case("zero timeout", "    KeepAliveTimeout: \"00:00:00\"", 5, "Kestrel.Limits.KeepAliveTimeout", "positive TimeSpan");
        yield return Case("zero headers timeout", "    RequestHeadersTimeout: \"00:00:00\"", 5, "Kestrel.Limits.RequestHeadersTimeout", "positive TimeSpan");
        yield return Case("not a duration", "    KeepAliveTimeout: soon", 5, "Kestrel.Limits.KeepAliveTimeout", "duration");
        yield return Case("negative rate", "    MinRequestBodyDataRate: { BytesPerSecond: -1, GracePeriod: \"00:00:05\" }", 5,
            "Kestrel.Limits.MinRequestBodyDataRate", "positive number");
        yield return Case("grace period of 1 s", "    MinResponseDataRate: { BytesPerSecond: 240, GracePeriod: \"00:00:01\" }", 5,
            "Kestrel.Limits.MinResponseDataRate", "greater than");
        yield return Case("rate without its grace period", "    MinResponseDataRate: { BytesPerSecond: 240 }", 5,
            "Kestrel.Limits.MinResponseDataRate", "missing: GracePeriod");
        yield return Case("HTTP/2 streams zero", "    Http2:\n      MaxStreamsPerConnection: 0", 6,
            "Kestrel.Limits.Http2.MaxStreamsPerConnection", "greater than zero");
        yield return Case("Limits as a scalar", "    Http2: 5", 5, "Kestrel.Limits.Http2", "expected a mapping");
    }

    [TestCaseSource(nameof(BadValues))]
    public void A_value_Kestrel_would_refuse_is_an_error_at_its_key(string limitLine, int line, string key, string message)
    {
        var result = Load("Kestrel:\n  Limits:\n" + limitLine + "\n");
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Errors, Has.Count.EqualTo(1), string.Join("\n", result.Errors));
        var error = result.Errors[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That((error.File, error.Line, error.Key), Is.EqualTo(("test.yaml", line, key)), error.ToString());
            Assert.That(error.Message, Does.Contain(message), error.ToString());
        }
    }

    [Test]
    public void An_unknown_limit_is_a_warning_with_a_suggestion()
    {
        var result = Load("Kestrel:\n  Limits:\n    MaxRequestBodySise: 10\n");
        Assert.That(result.Ok, Is.True);
        Assert.That(result.Warnings.Single().Message, Does.Contain("did you mean 'MaxRequestBodySize'"));
    }

    [Test]
    public void A_reload_that_changes_a_limit_needs_an_upgrade()
    {
        var running = LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: 100\n");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ConfigDiff.NeedingUpgrade(running, LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: 100\n")), Is.Empty);
            Assert.That(ConfigDiff.NeedingUpgrade(running, LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: 200\n")),
                Is.EqualTo(new[] { "Kestrel.Limits" }));
            Assert.That(ConfigDiff.NeedingUpgrade(running,
                    LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: 100\n    Http2: { MaxStreamsPerConnection: 7 }\n")),
                Is.EqualTo(new[] { "Kestrel.Limits" }), "a nested limit counts");
            Assert.That(ConfigDiff.NeedingUpgrade(running,
                    LoadOk("Kestrel:\n  Limits:\n    MaxRequestBodySize: 100\n    MinResponseDataRate: { BytesPerSecond: 1, GracePeriod: \"00:00:05\" }\n")),
                Is.EqualTo(new[] { "Kestrel.Limits" }), "a data rate counts");
        }
    }

    [Test]
    public void The_bound_limits_reach_Kestrels_own_instance()
    {
        var limits = LoadOk("Kestrel:\n  Limits:\n    MaxRequestLineSize: 1000\n    MinResponseDataRate: null\n    Http2: { MaxFrameSize: 32768 }\n").Kestrel.Limits;
        var server = new KestrelServerOptions().Limits;
        KestrelLimitsCopy.CopyInto(limits, server);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(server.MaxRequestLineSize, Is.EqualTo(1000));
            Assert.That(server.MinResponseDataRate, Is.Null);
            Assert.That(server.Http2.MaxFrameSize, Is.EqualTo(32768));
            Assert.That(BoundEquality.Equal(server, limits), Is.True, "every bound limit is on the server's own");
        }
    }
}
