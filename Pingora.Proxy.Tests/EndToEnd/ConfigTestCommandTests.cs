using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// <c>pingora -t -c FILE</c>: a good file passes; each kind of bad file fails with exit 1 and an error naming the
/// file, the line and the dotted key, never a stack trace. Also the command line's own errors.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ConfigTestCommandTests : PingoraTestBase
{
    private const string StackTraceMarker = "   at ";

    /// <summary>A valid file; the destination needs no live backend because -t starts nothing.</summary>
    private TestConfig ValidConfig()
    {
        var config = NewConfig();
        config.AddListener();
        config.AddRoute("r1", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        return config;
    }

    /// <param name="Bend">Makes the valid config invalid in one way.</param>
    /// <param name="Line">The line the daemon must blame, in the rendered file.</param>
    /// <param name="Key">A regex for the dotted key the daemon must name; null when no key can be named (a YAML
    /// syntax error stops the parser before it knows where in the document it is).</param>
    public sealed record BadFile(string Name, Action<TestConfig> Bend, Func<TestConfig, int> Line, string? Key)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> BadFiles()
    {
        yield return Case(new BadFile("YAML syntax error",
            c => c.RawServerValues["log_level"] = "information: verbose",
            c => c.LineOf("log_level:"),
            null));
        yield return Case(new BadFile("wrong type for a server key",
            c => c.RawServerValues["grace_period_seconds"] = "soon",
            c => c.LineOf("grace_period_seconds:"),
            Regex.Escape("grace_period_seconds")));
        yield return Case(new BadFile("wrong type for a route key",
            c => c.Route("r1").RawOrder = "first",
            c => c.LineOf("Order: first"),
            Regex.Escape("ReverseProxy.Routes.r1.Order")));
        yield return Case(new BadFile("route naming a missing cluster",
            c => c.Route("r1").ClusterId = "nope",
            c => c.LineOf("ClusterId: nope"),
            Regex.Escape("ReverseProxy.Routes.r1.ClusterId")));
        yield return Case(new BadFile("duplicate route id",
            c => c.AddRoute("r1", "c1", "/dup/{**rest}"),
            c => c.LineOf("    r1:", occurrence: 2),
            Regex.Escape("ReverseProxy.Routes.r1")));
        yield return Case(new BadFile("unknown session affinity policy (YARP's validator)",
            c => c.Cluster("c1").SessionAffinityPolicy = "Sticky",
            c => c.LineOf("    c1:"),
            Regex.Escape("ReverseProxy.Clusters.c1")));
        yield return Case(new BadFile("listener address without a port",
            c => c.Listeners[0].RawAddress = "\"127.0.0.1\"",
            c => c.LineOf("address: \"127.0.0.1\""),
            // Sequence elements: accept either spelling of index 0 in a dotted path.
            @"listeners(\[0\]|\.0)\.address"));
        yield return Case(new BadFile("Kestrel limit Kestrel would refuse",
            c => c.ExtraTopLevelLines.AddRange(["Kestrel:", "  Limits:", "    MaxRequestBodySize: -1"]),
            c => c.LineOf("MaxRequestBodySize: -1"),
            Regex.Escape("Kestrel.Limits.MaxRequestBodySize")));
        yield return Case(new BadFile("Kestrel data rate with a grace period of 1 s",
            c => c.ExtraTopLevelLines.AddRange(["Kestrel:", "  Limits:", "    MinResponseDataRate: { BytesPerSecond: 240, GracePeriod: \"00:00:01\" }"]),
            c => c.LineOf("MinResponseDataRate:"),
            Regex.Escape("Kestrel.Limits.MinResponseDataRate")));

        static TestCaseData Case(BadFile bad) => new TestCaseData(bad).SetArgDisplayNames(bad.Name);
    }

    private static string Numbered(string text) =>
        string.Join('\n', text.Split('\n').Select((line, i) => $"{i + 1,3}: {line}"));

    private static string Report(TestConfig config, (int ExitCode, string Stdout, string Stderr) run) =>
        $"exit code {run.ExitCode}\n--- stdout ---\n{run.Stdout}\n--- stderr ---\n{run.Stderr}\n--- {config.Path} ---\n{Numbered(config.Render())}";

    [Test]
    public async Task A_valid_file_passes()
    {
        var config = ValidConfig();
        config.Write();

        var run = await RunToExitAsync("-t", "-c", config.Path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, () => Report(config, run));
            Assert.That(run.Stdout.Split('\n').Select(l => l.TrimEnd()),
                Does.Contain($"pingora: configuration file {config.Path} test is successful"), () => Report(config, run));
            Assert.That(run.Stderr, Does.Not.Contain("error"), () => Report(config, run));
        }
    }

    [TestCaseSource(nameof(BadFiles))]
    public async Task A_bad_file_fails_with_file_line_and_key(BadFile bad)
    {
        var config = ValidConfig();
        bad.Bend(config);
        config.Write();
        var line = bad.Line(config);
        var errorLine = new Regex(
            $@"^pingora: error: {Regex.Escape(config.Path)}:{line}:\d+: {(bad.Key is null ? "" : bad.Key + ": ")}\S.*$",
            RegexOptions.Multiline);

        var run = await RunToExitAsync("-t", "-c", config.Path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), () => Report(config, run));
            Assert.That(run.Stderr, Does.Match(errorLine),
                () => $"expected an error for line {line}" + (bad.Key is null ? "" : $" and key /{bad.Key}/") + "\n" + Report(config, run));
            Assert.That(run.Stderr, Does.Contain($"pingora: configuration file {config.Path} test failed"), () => Report(config, run));
            Assert.That(run.Stdout, Does.Not.Contain("successful"), () => Report(config, run));
            Assert.That(run.Stderr + run.Stdout, Does.Not.Contain(StackTraceMarker), () => "no stack trace\n" + Report(config, run));
        }
    }

    [Test]
    public async Task An_unknown_key_is_a_warning_not_an_error()
    {
        var config = ValidConfig();
        config.ExtraTopLevelLines.Add("grace_period_secs: 5");
        config.Write();
        var warning = new Regex(
            $@"^pingora: warning: {Regex.Escape(config.Path)}:{config.LineOf("grace_period_secs:")}:\d+: grace_period_secs: \S.*$",
            RegexOptions.Multiline);

        var run = await RunToExitAsync("-t", "-c", config.Path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, () => Report(config, run));
            Assert.That(run.Stderr, Does.Match(warning), () => Report(config, run));
            Assert.That(run.Stdout, Does.Contain($"pingora: configuration file {config.Path} test is successful"), () => Report(config, run));
            Assert.That(run.Stderr, Does.Not.Contain("pingora: error:"), () => Report(config, run));
        }
    }

    [Test]
    public async Task Plain_http1_and_http2_passes_with_a_warning_that_it_serves_HTTP1_only()
    {
        var config = NewConfig();
        config.AddListener(protocols: ["http1", "http2"]);
        config.AddRoute("r1", "c1", "/{**rest}");
        config.AddCluster("c1", "http://127.0.0.1:9/");
        config.Write();
        var warning = new Regex(
            $@"^pingora: warning: {Regex.Escape(config.Path)}:{config.LineOf("protocols:")}:\d+: listeners\[0\]\.protocols: .*HTTP/1\.1 only.*\[http2\] alone",
            RegexOptions.Multiline);

        var run = await RunToExitAsync("-t", "-c", config.Path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, () => Report(config, run));
            Assert.That(run.Stderr, Does.Match(warning), () => Report(config, run));
        }
    }

    [Test]
    public async Task An_unknown_flag_prints_usage_and_exits_2()
    {
        var run = await RunToExitAsync("--frobnicate");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(2), $"stdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
            Assert.That(run.Stderr, Does.Contain("usage").IgnoreCase, "usage goes to stderr");
            Assert.That(run.Stderr, Does.Contain("-c"), "the usage lists the options");
            Assert.That(run.Stderr + run.Stdout, Does.Not.Contain(StackTraceMarker));
        }
    }
}
