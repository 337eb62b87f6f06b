using Pingora.Proxy.Limits;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Policies;
using YamlDotNet.RepresentationModel;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Binds the top level of a configuration file: Pingora's server keys into <see cref="ServerConf"/>,
/// <c>listeners</c>, and the <c>ReverseProxy</c> section (delegated to <see cref="ReverseProxySectionBinder"/>).
/// The result may be incomplete when the bag holds errors; validation runs on it anyway so one run reports everything.
/// </summary>
internal static class ConfigDocumentBinder
{
    public const string ListenersKey = "listeners";

    /// <summary>
    /// Keys of Pingora's ServerConf that mean something to Pingora's Rust runtime or connectors but nothing here.
    /// A Pingora file must load unchanged, so they are accepted, with a warning rather than "unknown key".
    /// </summary>
    private static readonly HashSet<string> PingoraKeysWithoutEffect = new[]
    {
        "ca_file", "work_stealing", "upstream_keepalive_pool_size", "client_bind_to_ipv4", "client_bind_to_ipv6",
        "upstream_connect_offload_threadpools", "upstream_connect_offload_thread_per_pool",
        "upstream_debug_ssl_keylog", "listener_tasks_per_fd", "max_retries",
    }.Select(KeyNames.Normalize).ToHashSet(StringComparer.Ordinal);

    public static PingoraConfig Bind(YamlMappingNode? root, string filePath, DiagnosticBag diagnostics, SourceMap sourceMap)
    {
        var binder = new YamlBinder(diagnostics, sourceMap, CreateScalarConverter());
        if (root is null)
        {
            diagnostics.Error(new SourceLocation(1, 1, ListenersKey),
                "the file is empty; it needs at least a listeners section, or the daemon has nothing to serve");
            return new PingoraConfig { FilePath = filePath, Server = new ServerConf(), Listeners = [], Routes = [], Clusters = [], Kestrel = new KestrelConf() };
        }
        sourceMap.RecordRoot(root);

        YamlScalarNode? listenersKey = null, proxyKey = null, kestrelKey = null;
        foreach (var (keyNode, valueNode) in root.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key } scalarKey) continue; // the binder reports odd keys
            if (KeyNames.Same(key, ListenersKey)) TakeSection(ref listenersKey, scalarKey, diagnostics);
            else if (KeyNames.Same(key, ConfigPaths.ReverseProxy)) TakeSection(ref proxyKey, scalarKey, diagnostics);
            else if (KeyNames.Same(key, KestrelSectionBinder.SectionKey)) TakeSection(ref kestrelKey, scalarKey, diagnostics);
            else if (PingoraKeysWithoutEffect.Contains(KeyNames.Normalize(key)))
                diagnostics.Warning(SourceLocation.At(keyNode.Start, NodePath.Root.Key(key)),
                    $"Pingora key '{key}' has no effect in pingora (.NET)");
        }

        var server = binder.BindObject<ServerConf>(root, NodePath.Root,
            key => KeyNames.Same(key, ListenersKey) || KeyNames.Same(key, ConfigPaths.ReverseProxy)
                   || KeyNames.Same(key, KestrelSectionBinder.SectionKey)
                   || PingoraKeysWithoutEffect.Contains(KeyNames.Normalize(key)) || PolicySections.IsPolicyKey(key),
            [ListenersKey, ConfigPaths.ReverseProxy, KestrelSectionBinder.SectionKey, .. PolicySections.Keys]);
        var listeners = BindListeners(root, listenersKey, binder, diagnostics);
        var (routes, clusters) = proxyKey is null
            ? ([], [])
            : ReverseProxySectionBinder.Bind(proxyKey, root.Children[proxyKey], binder, diagnostics);
        var kestrel = KestrelSectionBinder.Bind(kestrelKey, root, binder);

        var policies = PolicySections.Bind(root, binder);

        return new PingoraConfig
        {
            FilePath = filePath,
            Server = server,
            Listeners = listeners,
            Routes = routes,
            Clusters = clusters,
            Kestrel = kestrel,
            Policies = policies,
        };
    }

    private static IReadOnlyList<ListenerConf> BindListeners(YamlMappingNode root, YamlScalarNode? key, YamlBinder binder,
        DiagnosticBag diagnostics)
    {
        if (key is null)
        {
            diagnostics.Error(SourceLocation.At(root.Start, NodePath.Root.Key(ListenersKey)),
                "missing: at least one listener is required, or the daemon has nothing to serve");
            return [];
        }
        var path = NodePath.Root.Property(ConfigPaths.Listeners, key.Value!);
        var node = root.Children[key];
        binder.Record(path, key, node);
        var property = typeof(PingoraConfig).GetProperty(nameof(PingoraConfig.Listeners))!;
        return binder.TryBindProperty(node, property, path, out var value) ? (IReadOnlyList<ListenerConf>)value! : [];
    }

    /// <summary>Keeps the first spelling of a section key; a second one ("listeners" and "Listeners") is an error.</summary>
    private static void TakeSection(ref YamlScalarNode? first, YamlScalarNode key, DiagnosticBag diagnostics)
    {
        if (first is null)
        {
            first = key;
            return;
        }
        diagnostics.Error(SourceLocation.At(key.Start, NodePath.Root.Key(key.Value!)),
            $"duplicate key: '{key.Value}' repeats '{first.Value}' from line {first.Start.Line}");
    }

    internal static ScalarConverter CreateScalarConverter()
    {
        var converter = new ScalarConverter();
        converter.Register(typeof(ListenAddress), "an address such as 0.0.0.0:8080 or [::]:8080",
            (string text, out object? value, out string? error) =>
            {
                var ok = ListenAddress.TryParse(text, out var address, out error);
                value = address;
                return ok;
            });
        return converter;
    }
}
