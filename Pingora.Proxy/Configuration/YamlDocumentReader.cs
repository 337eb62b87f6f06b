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
            diagnostics.Error(new SourceLocation((int)e.Start.Line, (int)e.Start.Column, "-"), Describe(e));
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
