using Pingora.Proxy.Configuration;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Limits;

/// <summary>Binds the top-level <c>Kestrel</c> section with the file's binder (located errors per key).</summary>
internal static class KestrelSectionBinder
{
    public const string SectionKey = "Kestrel";

    public static KestrelConf Bind(YamlScalarNode? sectionKey, YamlMappingNode root, YamlBinder binder)
    {
        if (sectionKey is null) return new KestrelConf();
        var node = root.Children[sectionKey];
        var path = NodePath.Root.Property(SectionKey, sectionKey.Value!);
        binder.Record(path, sectionKey, node);
        if (YamlBinder.IsNull(node)) return new KestrelConf();
        if (node is not YamlMappingNode map)
        {
            binder.Fail(node, path, $"expected a mapping with Limits, got {YamlBinder.Describe(node)}");
            return new KestrelConf();
        }
        return binder.BindObject<KestrelConf>(map, path);
    }
}
