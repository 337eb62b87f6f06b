using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Policies;

namespace Pingora.Proxy.Tests.Policies;

/// <summary>The policy sections bind with the file's binder, and every bad policy is an error at its file:line:key.</summary>
[TestFixture]
public sealed class PolicyConfigTests
{
    private const string Head = """
        listeners:
          - address: 127.0.0.1:8080
        """;

    private static string File(string sections, string routeLines) => $"""
        {Head}
        {sections}
        ReverseProxy:
          Routes:
            r1:
              ClusterId: c1
        {routeLines}
              Match: {"{"} Path: /api {"}"}
          Clusters:
            c1:
              Destinations:
                d1: {"{"} Address: "http://127.0.0.1:5000/" {"}"}
        """;

    private const string Limiter = """
        RateLimiter:
          RejectionStatusCode: 429
          Policies:
            per-client:
              PartitionBy: ClientAddress
              TokenBucket: { TokenLimit: 100, TokensPerPeriod: 50, ReplenishmentPeriod: "00:00:01", QueueLimit: 0 }
        """;

    private static ConfigLoadResult Load(string yaml) => ConfigLoader.Parse(yaml, "test.yaml");

    private static ConfigDiagnostic SingleError(string yaml)
    {
        var result = Load(yaml);
        Assert.That(result.Errors, Has.Count.EqualTo(1), string.Join("\n", result.Errors));
        return result.Errors[0];
    }

    [Test]
    public void The_issue_example_binds_and_a_route_may_name_it()
    {
        var result = Load(File(Limiter, "      RateLimiterPolicy: per-client"));

        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        var policy = result.Config!.Policies.RateLimiter!.Policies!["per-client"];
        Assert.That((policy.TokenBucket!.TokenLimit, policy.TokenBucket.TokensPerPeriod, policy.TokenBucket.ReplenishmentPeriod),
            Is.EqualTo((100, 50, TimeSpan.FromSeconds(1))));
        Assert.That(result.Config.Routes[0].RateLimiterPolicy, Is.EqualTo("per-client"));
    }

    [TestCase("RateLimiterPolicy: per-clinet", "RateLimiterPolicy", "policy 'per-clinet' is not defined in RateLimiter.Policies; did you mean 'per-client'?")]
    [TestCase("TimeoutPolicy: slow", "TimeoutPolicy", "policy 'slow' is not defined: the file has no RequestTimeouts.Policies")]
    [TestCase("OutputCachePolicy: short", "OutputCachePolicy", "policy 'short' is not defined: the file has no OutputCache.Policies")]
    [TestCase("CorsPolicy: open", "CorsPolicy", "policy 'open' is not defined: the file has no Cors.Policies")]
    [TestCase("CorsPolicy: Default", "CorsPolicy", "'Default' means the application's default policy, and none is configurable here; name a policy of Cors.Policies")]
    public void A_route_naming_an_undefined_policy_is_an_error_at_its_key(string line, string key, string message)
    {
        var yaml = File(Limiter, "      " + line);
        var error = SingleError(yaml);

        Assert.That((error.Line, error.Key), Is.EqualTo((LineOf(yaml, line), $"ReverseProxy.Routes.r1.{key}")), error.ToString());
        Assert.That(error.Message, Is.EqualTo(message));
    }

    [Test]
    public void Disable_is_accepted_as_YARP_reserves_it()
    {
        var result = Load(File("", "      RateLimiterPolicy: Disable\n      CorsPolicy: disable\n      TimeoutPolicy: Disable"));
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
    }

    [Test]
    public void Two_limiter_kinds_in_one_policy_is_an_error_at_the_second()
    {
        var yaml = File("""
            RateLimiter:
              Policies:
                p:
                  FixedWindow: { PermitLimit: 1, Window: "00:00:01" }
                  Concurrency: { PermitLimit: 1 }
            """, "");
        var error = SingleError(yaml);

        Assert.That((error.Line, error.Key), Is.EqualTo((LineOf(yaml, "Concurrency:"), "RateLimiter.Policies.p.Concurrency")));
        Assert.That(error.Message, Does.Contain("already has FixedWindow"));
    }

    [TestCase("FixedWindow: { PermitLimit: 0, Window: \"00:00:01\" }", "RateLimiter.Policies.p.FixedWindow.PermitLimit", "must be greater than 0, got 0")]
    [TestCase("FixedWindow: { PermitLimit: 5 }", "RateLimiter.Policies.p.FixedWindow.Window", "missing: Window must be set (hh:mm:ss), longer than 0")]
    [TestCase("SlidingWindow: { PermitLimit: 5, Window: \"00:00:01\", SegmentsPerWindow: 0 }", "RateLimiter.Policies.p.SlidingWindow.SegmentsPerWindow", "must be greater than 0, got 0")]
    [TestCase("TokenBucket: { TokenLimit: 5, TokensPerPeriod: 1, ReplenishmentPeriod: \"00:00:01\", QueueLimit: -1 }", "RateLimiter.Policies.p.TokenBucket.QueueLimit", "must be 0 or more, got -1")]
    [TestCase("TokenBucket: { TokenLimit: 5, TokensPerPeriod: 1, ReplenishmentPeriod: \"00:00:01\", AutoReplenishment: false }", "RateLimiter.Policies.p.TokenBucket.AutoReplenishment", "must be true")]
    [TestCase("Concurrency: { PermitLimit: many }", "RateLimiter.Policies.p.Concurrency.PermitLimit", "expected an integer, got 'many'")]
    [TestCase("PartitionBy: Cookie", "RateLimiter.Policies.p.PartitionBy", "expected ClientAddress, None or Header:NAME")]
    [TestCase("Concurrency: { PermitLimit: 1, Permits: 2 }", null, null)]
    public void A_bad_limiter_value_is_an_error_at_its_key(string line, string? key, string? message)
    {
        var body = line.StartsWith("PartitionBy") ? line + "\n      Concurrency: { PermitLimit: 1 }" : line;
        var yaml = File($"RateLimiter:\n  Policies:\n    p:\n      {body.Replace("\n", "\n")}", "");
        var result = Load(yaml);
        if (key is null)
        {
            // An unknown key inside an options mapping is a warning that names it, as everywhere in the file.
            Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
            Assert.That(result.Warnings.Select(w => w.Key), Does.Contain("RateLimiter.Policies.p.Concurrency.Permits"));
            return;
        }
        Assert.That(result.Errors, Has.Count.EqualTo(1), string.Join("\n", result.Errors));
        var error = result.Errors[0];
        Assert.That((error.Line, error.Key), Is.EqualTo((LineOf(yaml, line.Split(':')[0] + ":"), key)), error.ToString());
        Assert.That(error.Message, Does.StartWith(message));
    }

    [Test]
    public void A_policy_without_a_limiter_and_bad_timeout_cache_and_cors_values_are_all_reported()
    {
        var yaml = File("""
            RateLimiter:
              RejectionStatusCode: 200
              Policies:
                empty: { PartitionBy: None }
            RequestTimeouts:
              Policies:
                t: { TimeoutStatusCode: 504 }
            OutputCache:
              Policies:
                c: { Expire: "-00:00:01" }
            Cors:
              Policies:
                open: { Origins: ["*"], SupportsCredentials: true }
                path: { Origins: ["https://app.example/x"] }
                Disable: { Origins: ["*"] }
            """, "");
        var errors = Load(yaml).Errors.Select(e => $"{e.Key}: {e.Message}").ToList();

        Assert.That(errors, Has.Count.EqualTo(7), string.Join("\n", errors));
        Assert.That(errors, Has.Some.StartsWith("RateLimiter.RejectionStatusCode: expected an HTTP error status"));
        Assert.That(errors, Has.Some.StartsWith("RateLimiter.Policies.empty: rate limit policy 'empty' needs exactly one of"));
        Assert.That(errors, Has.Some.StartsWith("RequestTimeouts.Policies.t.Timeout: missing"));
        Assert.That(errors, Has.Some.StartsWith("OutputCache.Policies.c.Expire: must be longer than 0"));
        Assert.That(errors, Has.Some.StartsWith("Cors.Policies.open.SupportsCredentials: SupportsCredentials cannot be combined"));
        Assert.That(errors, Has.Some.StartsWith("Cors.Policies.path.Origins[0]: expected an origin"));
        Assert.That(errors, Has.Some.StartsWith("Cors.Policies.Disable: 'Disable' is a reserved policy name"));
    }

    [Test]
    public void A_route_with_both_Timeout_and_TimeoutPolicy_is_an_error()
    {
        var yaml = File("RequestTimeouts:\n  Policies:\n    t: { Timeout: \"00:00:05\" }", "      TimeoutPolicy: t\n      Timeout: \"00:00:05\"");
        var error = SingleError(yaml);
        Assert.That(error.Key, Is.EqualTo("ReverseProxy.Routes.r1.Timeout"));
        Assert.That(error.Message, Does.Contain("not both"));
    }

    [Test]
    public void A_reload_reports_changed_definitions_and_refuses_routes_naming_policies_the_process_lacks()
    {
        var running = Load(File(Limiter, "")).Config!;
        var changed = Load(File(Limiter.Replace("TokenLimit: 100", "TokenLimit: 5") + "\nCors:\n  Policies:\n    app: { Origins: [\"https://a.example\"] }",
            "      RateLimiterPolicy: per-client\n      CorsPolicy: app")).Config!;

        Assert.That(ConfigDiff.NeedingUpgrade(running, changed), Is.EquivalentTo(new[] { "RateLimiter", "Cors" }));
        Assert.That(ConfigDiff.NeedingUpgrade(running, Load(File(Limiter, "      RateLimiterPolicy: per-client")).Config!), Is.Empty,
            "a route newly naming a running policy is a route change, applied by SIGHUP");
        var refused = PolicyReload.UnavailableReferences(changed.Routes, running.Policies);
        Assert.That(refused, Has.Count.EqualTo(1));
        Assert.That(refused[0], Does.Contain("ReverseProxy.Routes.r1.CorsPolicy").And.Contain("upgrade"));
    }

    private static int LineOf(string yaml, string text) =>
        yaml.Split('\n').Select((l, i) => (l, i)).First(x => x.l.Contains(text, StringComparison.Ordinal)).i + 1;
}
