using Pingora.Proxy.Configuration;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Policies;

/// <summary>Binds the policy sections at the top level of the file with the file's YAML binder.</summary>
internal static class PolicySections
{
    /// <summary>The top-level keys, as <see cref="PolicyConf"/>'s properties (and so as the canonical paths) name them.</summary>
    public static readonly string[] Keys =
        [nameof(PolicyConf.RateLimiter), nameof(PolicyConf.RequestTimeouts), nameof(PolicyConf.OutputCache), nameof(PolicyConf.Cors)];

    public static bool IsPolicyKey(string key) => Keys.Any(k => KeyNames.Same(k, key));

    /// <summary>Binds only the policy keys of <paramref name="root"/>; every other key is the server's or a section's.</summary>
    public static PolicyConf Bind(YamlMappingNode root, YamlBinder binder) =>
        binder.BindObject<PolicyConf>(root, NodePath.Root, key => !IsPolicyKey(key));
}
