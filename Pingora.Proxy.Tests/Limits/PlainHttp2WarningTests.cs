using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Limits;

/// <summary>
/// <c>protocols: [http1, http2]</c> without TLS passes Kestrel's checks but serves HTTP/1.1 only (it logs "HTTP/2 is
/// not enabled" at run time), so -t says so at the listener's protocols; [http2] alone (h2c) and TLS stay quiet.
/// </summary>
[TestFixture]
public sealed class PlainHttp2WarningTests
{
    private static IReadOnlyList<ConfigDiagnostic> Warnings(string listener)
    {
        var result = ConfigLoader.Parse("listeners:\n  - address: 127.0.0.1:8080\n" + listener, "test.yaml");
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        return result.Warnings;
    }

    [TestCase("[http1, http2]")]
    [TestCase("[HTTP2, http1]")]
    public void Both_protocols_without_tls_warn_at_the_protocols(string protocols)
    {
        var warning = Warnings($"    protocols: {protocols}\n").Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((warning.Line, warning.Key), Is.EqualTo((3, "listeners[0].protocols")), warning.ToString());
            Assert.That(warning.Message, Does.Contain("HTTP/1.1 only").And.Contain("[http2] alone"));
        }
    }

    [TestCase("    protocols: [http2]\n")]
    [TestCase("    protocols: [http1]\n")]
    [TestCase("")]
    public void Other_plain_listeners_do_not_warn(string protocols) => Assert.That(Warnings(protocols), Is.Empty);
}
