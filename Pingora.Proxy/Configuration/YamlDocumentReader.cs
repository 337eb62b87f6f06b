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
    /// <param name="flaw">Where the file's text has a flaw, if it has: the value holding it is refused by name, and
    /// the file as a whole when no value holds it (a comment).</param>
    public static YamlMappingNode? Read(string text, DiagnosticBag diagnostics, TextFlaw? flaw = null)
    {
        flaw ??= TextFlaw.FindControlCharacter(text);
        var stream = new YamlStream();
        var parser = new GuardedYamlParser(new Parser(new StringReader(text)), flaw);
        try
        {
            stream.Load(parser);
        }
        catch (YamlRefusedException e)
        {
            diagnostics.Error(new SourceLocation((int)e.Start.Line, (int)e.Start.Column, e.KeyPath), e.Message);
            return null;
        }
        catch (YamlException e) when (e.Start.Equals(Mark.Empty) && parser.LastGood.Index > 0)
        {
            // Some errors (raised by the representation model rather than the parser) carry no position: the
            // problem is just after the last event read.
            diagnostics.Error(new SourceLocation((int)parser.LastGood.Line, (int)parser.LastGood.Column, parser.CurrentKeyPath), Describe(e));
            return null;
        }
        catch (YamlException e)
        {
            var at = e.Message.Contains("tab character", StringComparison.Ordinal) ? TabAfter(text, e.Start) : e.Start;
            diagnostics.Error(new SourceLocation((int)at.Line, (int)at.Column, KeyPathAt(text, at)), Describe(e));
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

        if (flaw is { } unheld)
        {
            diagnostics.Error(new SourceLocation((int)unheld.At.Line, (int)unheld.At.Column, "-"), $"the file holds {unheld.What}");
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

        // Guarded too: the text is the one that just failed, and may be the hostile kind.
        var parser = new GuardedYamlParser(new Parser(new StringReader(text)));
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

    /// <summary>
    /// YamlDotNet blames a tab on the start of the scalar before it (<c>version: 1</c> for a tab on the next line);
    /// the user needs the tab itself.
    /// </summary>
    private static Mark TabAfter(string text, Mark from)
    {
        var index = text.IndexOf('\t', (int)Math.Min(from.Index, text.Length));
        return index < 0 ? from : TextFlaw.MarkAt(text, index);
    }

    [GeneratedRegex("^Duplicate key (.*)$")]
    private static partial Regex DuplicateKey();
}
