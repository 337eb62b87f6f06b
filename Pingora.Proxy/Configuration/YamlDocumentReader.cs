using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Parses the file's text into a YAML node tree (every node keeps its line and column) and turns syntax errors into
/// diagnostics. Yields the top-level mapping, or null when there is none (an empty file, or errors already reported).
/// </summary>
internal static partial class YamlDocumentReader
{
    public static YamlMappingNode? Read(string text, DiagnosticBag diagnostics)
    {
        var stream = new YamlStream();
        var parser = new PositionTrackingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            diagnostics.Error(new SourceLocation((int)e.Start.Line, (int)e.Start.Column, KeyPathAt(text, e.Start)), Describe(e));
            return null;
        }
        catch (Exception e)
        {
            // YamlDotNet 16 has inputs (an unclosed flow list followed by more keys) on which it throws
            // InvalidOperationException instead of a YamlException; point at the last place it understood.
            var at = parser.LastGood;
            diagnostics.Error(new SourceLocation((int)at.Line, (int)at.Column, "-"),
                $"invalid YAML after this point: look for an unclosed '[', '{{' or quote ({e.GetType().Name})");
            return null;
        }

        if (stream.Documents.Count == 0) return null;
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            diagnostics.Error(SourceLocation.At(second.Start, NodePath.Root),
                "the file holds more than one YAML document ('---'); put the whole configuration in one");
            return null;
        }
        var root = stream.Documents[0].RootNode;
        if (root is YamlMappingNode mapping) return mapping;
        if (YamlBinder.IsNull(root)) return null;
        diagnostics.Error(SourceLocation.At(root.Start, NodePath.Root),
            $"the top level must be a mapping of keys (version, listeners, ReverseProxy, ...), got {YamlBinder.Describe(root)}");
        return null;
    }

    private static string Describe(YamlException e)
    {
        var message = e.Message;
        if (DuplicateKey().Match(message) is { Success: true } duplicate)
            return $"duplicate key '{duplicate.Groups[1].Value}'";
        if (message.Length > 0) message = char.ToLowerInvariant(message[0]) + message[1..];
        return $"invalid YAML: {message}";
    }

    /// <summary>
    /// The written key path of the mapping key that starts at <paramref name="mark"/> (a duplicate key is reported
    /// only by position), found by reading the events again up to it; "-" when no key starts there.
    /// </summary>
    private static string KeyPathAt(string text, Mark mark)
    {
        // One frame per open mapping or sequence: its path, and for a mapping the last key read and whether the
        // next scalar is a key; for a sequence the index of the next item.
        var frames = new Stack<(NodePath Path, bool IsMapping, bool ExpectKey, string Key, int Index)>();
        NodePath ChildPath()
        {
            if (frames.Count == 0) return NodePath.Root;
            var (path, isMapping, _, key, index) = frames.Peek();
            return isMapping ? path.Key(key) : path.Index(index);
        }
        void ValueDone()
        {
            if (frames.Count == 0) return;
            var top = frames.Pop();
            frames.Push(top.IsMapping ? top with { ExpectKey = true } : top with { Index = top.Index + 1 });
        }

        var parser = new Parser(new StringReader(text));
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case Scalar scalar when frames.Count > 0 && frames.Peek() is { IsMapping: true, ExpectKey: true } mapping:
                        frames.Pop();
                        frames.Push(mapping with { ExpectKey = false, Key = scalar.Value });
                        if (scalar.Start.Line == mark.Line && scalar.Start.Column == mark.Column) return ChildPath().Display;
                        break;
                    case Scalar or AnchorAlias:
                        ValueDone();
                        break;
                    case MappingStart:
                        frames.Push((ChildPath(), true, true, "", 0));
                        break;
                    case SequenceStart:
                        frames.Push((ChildPath(), false, false, "", 0));
                        break;
                    case MappingEnd or SequenceEnd:
                        frames.Pop();
                        ValueDone();
                        break;
                }
            }
        }
        catch (YamlException)
        {
            // A syntax error before the mark: no key to name.
        }
        return "-";
    }

    [GeneratedRegex("^Duplicate key (.*)$")]
    private static partial Regex DuplicateKey();

    /// <summary>Remembers the end of the last event parsed, for errors that arrive without a position.</summary>
    private sealed class PositionTrackingParser(IParser inner) : IParser
    {
        public Mark LastGood { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (inner.Current is { } current) LastGood = current.End;
            return inner.MoveNext();
        }
    }
}
