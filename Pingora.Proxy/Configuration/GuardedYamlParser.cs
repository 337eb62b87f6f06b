using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Pingora.Proxy.Configuration;

/// <summary>A problem <see cref="GuardedYamlParser"/> found, with the key path it was under.</summary>
internal sealed class YamlRefusedException(Mark start, Mark end, string keyPath, string message)
    : YamlException(start, end, message)
{
    public string KeyPath { get; } = keyPath;
}

/// <summary>
/// Sits between YamlDotNet's parser and everything that reads its events, and stops at the first event that cannot
/// mean what the user wrote or would cost more than a configuration file may: nesting deeper than
/// <see cref="MaxDepth"/>, more than <see cref="MaxNodes"/> nodes counting what aliases expand to (a "billion
/// laughs" file is a few lines), an alias to nothing or to the node that contains it, a tag (<c>!!python/object</c>),
/// a merge key (<c>&lt;&lt;:</c>), a NUL character, or the value holding a <see cref="TextFlaw"/>. Every refusal is a <see cref="YamlRefusedException"/> at the
/// offending event, so the binder only ever walks a tree of bounded size and depth.
/// </summary>
internal sealed class GuardedYamlParser(IParser inner, TextFlaw? flaw = null) : IParser
{
    /// <summary>The deepest real configuration nests about 8 levels (a route's header match); the binder recurses per level.</summary>
    public const int MaxDepth = 64;

    /// <summary>A thousand routes with clusters are some 50,000 nodes.</summary>
    public const int MaxNodes = 200_000;

    // Tags of YAML's core schema that say nothing the plain value does not; anything else asks for a type we do not have.
    private static readonly HashSet<string> HarmlessTags = new(StringComparer.Ordinal)
    {
        "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq",
    };

    private sealed class Frame(bool isMapping, NodePath path, string? anchor, long nodesAtStart)
    {
        public bool IsMapping { get; } = isMapping;
        public NodePath Path { get; } = path;
        public string? Anchor { get; } = anchor;
        public long NodesAtStart { get; } = nodesAtStart;
        public bool ExpectKey { get; set; } = isMapping;
        public string Key { get; set; } = "";
        public int Index { get; set; }
        public int Height { get; set; }
        public bool IsKey { get; init; }
    }

    private readonly Stack<Frame> _frames = new();
    private readonly Dictionary<string, (long Nodes, int Height)> _anchors = new(StringComparer.Ordinal);
    private long _nodes;

    public ParsingEvent? Current => inner.Current;

    /// <summary>The end of the last event read, for errors that arrive without a position of their own.</summary>
    public Mark LastGood { get; private set; } = Mark.Empty;

    /// <summary>The key path of the node being read, as the user spelled it.</summary>
    public string CurrentKeyPath => ChildPath().ToString();

    public bool MoveNext()
    {
        if (inner.Current is { } previous) LastGood = previous.End;
        if (!inner.MoveNext()) return false;
        Check(inner.Current!);
        return true;
    }

    private void Check(ParsingEvent e)
    {
        if (e is NodeEvent node)
        {
            if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific && !HarmlessTags.Contains(node.Tag.Value))
                Refuse(e, $"YAML tag '{ShortTag(node.Tag.Value)}' is not supported: a configuration value is plain text, a list or a mapping");
        }
        switch (e)
        {
            case Scalar scalar:
                if (scalar.Value.Contains('\0')) Refuse(e, "a NUL character cannot be part of a configuration value");
                if (flaw is { } bad && scalar.Start.Index <= bad.At.Index && bad.At.Index <= scalar.End.Index)
                    Refuse(e, $"this value holds {bad.What}");
                if (IsKeyPosition && scalar.Value == "<<" && scalar.Style is ScalarStyle.Plain)
                    Refuse(e, "merge keys ('<<') are not supported: write the keys out", _frames.Peek().Path.Key("<<"));
                AddNodes(e, 1, 0, scalar.Anchor);
                if (IsKeyPosition) TakeKey(scalar.Value);
                else ValueDone();
                break;
            case AnchorAlias alias:
                var name = alias.Value.Value;
                if (_frames.Any(f => f.Anchor == name))
                    Refuse(e, $"alias '*{name}' refers to a node that contains it");
                if (!_anchors.TryGetValue(name, out var anchored))
                    Refuse(e, $"alias '*{name}' refers to no anchor '&{name}' defined before it");
                if (IsKeyPosition) Refuse(e, $"alias '*{name}' used as a key: keys must be written out");
                AddNodes(e, anchored.Nodes, anchored.Height, default);
                ValueDone();
                break;
            case MappingStart or SequenceStart:
                if (_frames.Count >= MaxDepth) Refuse(e, $"nested more than {MaxDepth} levels deep");
                var start = (NodeEvent)e;
                _nodes++;
                // A list or mapping as a key is the binder's to report ("expected a key name").
                _frames.Push(new Frame(e is MappingStart, ChildPath(), start.Anchor.IsEmpty ? null : start.Anchor.Value, _nodes - 1)
                    { IsKey = IsKeyPosition });
                break;
            case MappingEnd or SequenceEnd:
                var done = _frames.Pop();
                if (done.Anchor is not null) _anchors[done.Anchor] = (_nodes - done.NodesAtStart, done.Height + 1);
                if (_frames.TryPeek(out var parent)) parent.Height = Math.Max(parent.Height, done.Height + 1);
                if (done.IsKey) TakeKey("?");
                else ValueDone();
                break;
        }
    }

    private bool IsKeyPosition => _frames.TryPeek(out var top) && top.IsMapping && top.ExpectKey;

    private void AddNodes(ParsingEvent e, long nodes, int height, AnchorName anchor)
    {
        _nodes += nodes;
        if (_nodes > MaxNodes)
            Refuse(e, $"the file has more than {MaxNodes} values (counting what aliases expand to)");
        if (_frames.Count + height > MaxDepth) Refuse(e, $"nested more than {MaxDepth} levels deep (counting what aliases expand to)");
        if (_frames.TryPeek(out var top)) top.Height = Math.Max(top.Height, height);
        if (!anchor.IsEmpty) _anchors[anchor.Value] = (nodes, height);
    }

    private void TakeKey(string key)
    {
        var top = _frames.Peek();
        top.Key = key;
        top.ExpectKey = false;
    }

    private void ValueDone()
    {
        if (!_frames.TryPeek(out var top)) return;
        if (top.IsMapping)
        {
            top.ExpectKey = true;
            top.Key = "";
        }
        else top.Index++;
    }

    private NodePath ChildPath()
    {
        if (!_frames.TryPeek(out var top)) return NodePath.Root;
        if (!top.IsMapping) return top.Path.Index(top.Index);
        return top.ExpectKey ? top.Path : top.Path.Key(top.Key);
    }

    private void Refuse(ParsingEvent e, string message, NodePath? at = null)
    {
        var path = (at ?? ChildPath()).ToString();
        // A path 64 levels deep would fill the terminal; its end says where.
        if (path.Length > 120) path = "..." + path[^117..];
        throw new YamlRefusedException(e.Start, e.End, path, message);
    }

    private static string ShortTag(string tag) => tag.StartsWith("tag:yaml.org,2002:", StringComparison.Ordinal)
        ? "!!" + tag["tag:yaml.org,2002:".Length..]
        : tag;
}
