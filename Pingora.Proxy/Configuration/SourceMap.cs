using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Configuration;

/// <summary>A position in the file and the key path to show with it.</summary>
internal readonly record struct SourceLocation(int Line, int Column, string Key)
{
    public static SourceLocation At(Mark mark, NodePath path) => new((int)mark.Line, (int)mark.Column, path.ToString());
}

/// <summary>
/// Remembers where each bound node came from, so that checks made after binding (on the typed model) can still
/// report file:line:col. Looked up by canonical path.
/// </summary>
internal sealed class SourceMap
{
    private readonly Dictionary<string, SourceLocation> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// Records a key and its value. A scalar is located at its value (that is where a wrong value is); a mapping or
    /// list at its key, because its value starts on a later line that belongs to one of its children.
    /// </summary>
    public void Record(NodePath path, YamlNode? key, YamlNode value)
    {
        var mark = value is YamlScalarNode || key is null ? value.Start : key.Start;
        _entries[path.Canonical] = SourceLocation.At(mark, path);
    }

    public void RecordRoot(YamlNode root) => _entries[""] = SourceLocation.At(root.Start, NodePath.Root);

    public bool Contains(string canonicalPath) => _entries.ContainsKey(canonicalPath);

    public bool TryGet(string canonicalPath, out SourceLocation location) => _entries.TryGetValue(canonicalPath, out location);

    /// <summary>
    /// The location of a node, or for a key that is absent from the file, of its nearest present ancestor; the key
    /// shown is then the ancestor's followed by the missing part (<paramref name="missingDisplay"/> when given, so a
    /// snake_case section can name its missing key in snake_case).
    /// </summary>
    public SourceLocation Locate(string canonicalPath, string? missingDisplay = null)
    {
        if (_entries.TryGetValue(canonicalPath, out var exact)) return exact;
        var ancestor = canonicalPath;
        while (ancestor.Length > 0)
        {
            ancestor = ancestor[..Math.Max(0, ancestor.LastIndexOfAny(['.', '[']))];
            if (!_entries.TryGetValue(ancestor, out var found)) continue;
            var missing = missingDisplay ?? canonicalPath[ancestor.Length..].TrimStart('.');
            var key = found.Key == "-" ? missing : $"{found.Key}{(missing.StartsWith('[') ? "" : ".")}{missing}";
            return found with { Key = key };
        }
        return new SourceLocation(1, 1, missingDisplay ?? canonicalPath);
    }
}
