using System.Threading.RateLimiting;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Policies;

/// <summary>
/// Checks the policy definitions before any of them reaches ASP.NET Core, whose options classes throw at the first
/// request on a bad value (a zero PermitLimit) rather than at start. Every mistake is reported, at its key.
/// </summary>
internal static class PolicyValidator
{
    public static void Validate(PolicyConf policies, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        var check = new Checker(sourceMap, diagnostics);
        if (policies.RateLimiter is { } limiter) RateLimiter(limiter, check);
        if (policies.RequestTimeouts is { } timeouts) Timeouts(timeouts, check);
        if (policies.OutputCache is { } cache) OutputCache(cache, check);
        if (policies.Cors is { } cors) Cors(cors, check);
    }

    private static void RateLimiter(RateLimiterConf conf, Checker check)
    {
        const string section = nameof(PolicyConf.RateLimiter);
        check.Status($"{section}.{nameof(RateLimiterConf.RejectionStatusCode)}", conf.RejectionStatusCode);
        foreach (var (name, policy) in conf.Policies ?? [])
        {
            var path = $"{section}.{nameof(RateLimiterConf.Policies)}.{name}";
            if (!check.Name(path, name, policy)) continue;
            PartitionBy($"{path}.{nameof(RateLimitPolicyConf.PartitionBy)}", policy.PartitionBy, check);
            var kinds = new (string Key, object? Options)[]
            {
                (nameof(RateLimitPolicyConf.FixedWindow), policy.FixedWindow),
                (nameof(RateLimitPolicyConf.SlidingWindow), policy.SlidingWindow),
                (nameof(RateLimitPolicyConf.TokenBucket), policy.TokenBucket),
                (nameof(RateLimitPolicyConf.Concurrency), policy.Concurrency),
            };
            var present = kinds.Where(k => k.Options is not null).ToList();
            if (present.Count == 0 && !check.Failed(path))
                check.Error(path, $"rate limit policy '{name}' needs exactly one of FixedWindow, SlidingWindow, TokenBucket, Concurrency");
            foreach (var extra in present.Skip(1))
                check.Error($"{path}.{extra.Key}", $"rate limit policy '{name}' already has {present[0].Key}; a policy has exactly one limiter");
            if (present.Count == 1) Limiter($"{path}.{present[0].Key}", present[0].Options!, check);
        }
    }

    private static void PartitionBy(string path, string? partitionBy, Checker check)
    {
        if (partitionBy is null || check.Failed(path)) return;
        if (string.Equals(partitionBy, RateLimiting.ClientAddress, StringComparison.OrdinalIgnoreCase)
            || string.Equals(partitionBy, RateLimiting.None, StringComparison.OrdinalIgnoreCase))
            return;
        if (partitionBy.StartsWith(RateLimiting.HeaderPrefix, StringComparison.OrdinalIgnoreCase)
            && IsToken(partitionBy[RateLimiting.HeaderPrefix.Length..].Trim()))
            return;
        check.Error(path, $"expected ClientAddress, None or Header:NAME (a header name), got '{partitionBy}'");
    }

    private static void Limiter(string path, object options, Checker check)
    {
        switch (options)
        {
            case FixedWindowRateLimiterOptions o:
                check.Positive(path, nameof(o.PermitLimit), o.PermitLimit);
                check.Positive(path, nameof(o.Window), o.Window);
                check.NotNegative(path, nameof(o.QueueLimit), o.QueueLimit);
                check.Replenishes(path, o.AutoReplenishment);
                break;
            case SlidingWindowRateLimiterOptions o:
                check.Positive(path, nameof(o.PermitLimit), o.PermitLimit);
                check.Positive(path, nameof(o.Window), o.Window);
                check.Positive(path, nameof(o.SegmentsPerWindow), o.SegmentsPerWindow);
                check.NotNegative(path, nameof(o.QueueLimit), o.QueueLimit);
                check.Replenishes(path, o.AutoReplenishment);
                break;
            case TokenBucketRateLimiterOptions o:
                check.Positive(path, nameof(o.TokenLimit), o.TokenLimit);
                check.Positive(path, nameof(o.TokensPerPeriod), o.TokensPerPeriod);
                check.Positive(path, nameof(o.ReplenishmentPeriod), o.ReplenishmentPeriod);
                check.NotNegative(path, nameof(o.QueueLimit), o.QueueLimit);
                check.Replenishes(path, o.AutoReplenishment);
                break;
            case ConcurrencyLimiterOptions o:
                check.Positive(path, nameof(o.PermitLimit), o.PermitLimit);
                check.NotNegative(path, nameof(o.QueueLimit), o.QueueLimit);
                break;
        }
    }

    private static void Timeouts(RequestTimeoutsConf conf, Checker check)
    {
        const string section = nameof(PolicyConf.RequestTimeouts);
        if (conf.DefaultPolicy is { } fallback) Timeout($"{section}.{nameof(RequestTimeoutsConf.DefaultPolicy)}", fallback, check);
        foreach (var (name, policy) in conf.Policies ?? [])
        {
            var path = $"{section}.{nameof(RequestTimeoutsConf.Policies)}.{name}";
            if (check.Name(path, name, policy)) Timeout(path, policy, check);
        }
    }

    private static void Timeout(string path, TimeoutPolicyConf policy, Checker check)
    {
        if (policy.Timeout is { } timeout) check.Positive(path, nameof(policy.Timeout), timeout);
        else if (!check.Failed(path)) check.Error($"{path}.{nameof(policy.Timeout)}", "missing: a timeout policy needs a Timeout (hh:mm:ss)");
        check.Status($"{path}.{nameof(policy.TimeoutStatusCode)}", policy.TimeoutStatusCode);
    }

    private static void OutputCache(OutputCacheConf conf, Checker check)
    {
        const string section = nameof(PolicyConf.OutputCache);
        if (conf.SizeLimit is { } size) check.Positive(section, nameof(conf.SizeLimit), size);
        if (conf.MaximumBodySize is { } body) check.Positive(section, nameof(conf.MaximumBodySize), body);
        foreach (var (name, policy) in conf.Policies ?? [])
        {
            var path = $"{section}.{nameof(OutputCacheConf.Policies)}.{name}";
            if (!check.Name(path, name, policy)) continue;
            if (policy.Expire is { } expire) check.Positive(path, nameof(policy.Expire), expire);
            check.Tokens($"{path}.{nameof(policy.VaryByHeader)}", policy.VaryByHeader, "a header name");
        }
    }

    private static void Cors(CorsConf conf, Checker check)
    {
        const string section = nameof(PolicyConf.Cors);
        foreach (var (name, policy) in conf.Policies ?? [])
        {
            var path = $"{section}.{nameof(CorsConf.Policies)}.{name}";
            if (!check.Name(path, name, policy)) continue;
            var originsPath = $"{path}.{nameof(policy.Origins)}";
            if (policy.Origins is not { Count: > 0 } origins)
            {
                if (!check.Failed(originsPath)) check.Error(originsPath, "missing: a CORS policy needs Origins (a list of origins such as https://app.example.com, or [\"*\"])");
                continue;
            }
            for (var i = 0; i < origins.Count; i++)
            {
                if (origins[i] == CorsPolicies.Any || IsOrigin(origins[i])) continue;
                check.Error($"{originsPath}[{i}]", $"expected an origin such as https://app.example.com (scheme, host and port only) or *, got '{origins[i]}'");
            }
            // The CORS specification forbids credentials with a wildcard origin, and ASP.NET Core throws on it.
            if (policy.SupportsCredentials && origins.Contains(CorsPolicies.Any))
                check.Error($"{path}.{nameof(policy.SupportsCredentials)}", "SupportsCredentials cannot be combined with Origins: [\"*\"]; list the origins");
            check.Tokens($"{path}.{nameof(policy.Methods)}", policy.Methods, "an HTTP method");
            check.Tokens($"{path}.{nameof(policy.Headers)}", policy.Headers, "a header name");
            check.Tokens($"{path}.{nameof(policy.ExposedHeaders)}", policy.ExposedHeaders, "a header name");
            if (policy.PreflightMaxAge is { } maxAge && maxAge < TimeSpan.Zero)
                check.Error($"{path}.{nameof(policy.PreflightMaxAge)}", $"must not be negative, got {maxAge:c}");
        }
    }

    /// <summary>Scheme, host and optional port, as a browser sends Origin: no path, not even a trailing slash.</summary>
    private static bool IsOrigin(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.PathAndQuery == "/" && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0 && !text.EndsWith('/');

    /// <summary>An RFC 9110 token: what a header name or a method may be.</summary>
    internal static bool IsToken(string text) =>
        text.Length > 0 && text.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)));

    private sealed class Checker(SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        public bool Failed(string path) => diagnostics.HasErrorsWithin(path);

        public void Error(string path, string message) => diagnostics.Error(sourceMap.Locate(path), message, path);

        /// <summary>A policy's name; false when the entry did not bind (already reported).</summary>
        public bool Name(string path, string name, object? policy)
        {
            if (policy is null) return false;
            if (PolicyNames.IsReserved(name))
            {
                Error(path, $"'{name}' is a reserved policy name in YARP ('{PolicyNames.Disable}' turns a kind of policy off for a route); choose another name");
                return false;
            }
            return true;
        }

        public void Positive(string parent, string key, double value)
        {
            var path = $"{parent}.{key}";
            if (Failed(path) || value > 0) return;
            Error(path, sourceMap.Contains(path) ? $"must be greater than 0, got {value}" : $"missing: {key} must be set, greater than 0");
        }

        public void Positive(string parent, string key, TimeSpan value)
        {
            var path = $"{parent}.{key}";
            if (Failed(path) || value > TimeSpan.Zero) return;
            Error(path, sourceMap.Contains(path) ? $"must be longer than 0, got {value:c}" : $"missing: {key} must be set (hh:mm:ss), longer than 0");
        }

        public void NotNegative(string parent, string key, int value)
        {
            var path = $"{parent}.{key}";
            if (!Failed(path) && value < 0) Error(path, $"must be 0 or more, got {value}");
        }

        /// <summary>Nothing in the daemon calls TryReplenish, so a limiter without auto-replenishment would lock out for good.</summary>
        public void Replenishes(string parent, bool autoReplenishment)
        {
            if (!autoReplenishment) Error($"{parent}.AutoReplenishment", "must be true: nothing else replenishes the limiter, which would refuse every request once it ran out");
        }

        public void Status(string path, int status)
        {
            if (!Failed(path) && status is < 400 or > 599) Error(path, $"expected an HTTP error status from 400 to 599, got {status}");
        }

        public void Tokens(string path, List<string>? values, string what)
        {
            for (var i = 0; i < (values?.Count ?? 0); i++)
            {
                if (values![i] == CorsPolicies.Any || IsToken(values[i])) continue;
                Error($"{path}[{i}]", $"expected {what}, got '{values[i]}'");
            }
        }
    }
}
