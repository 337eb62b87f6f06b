using YamlDotNet.Core;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// The first place where the file's text is not YAML text at all: a byte that is not UTF-8, or a control character
/// (YamlDotNet reads a raw NUL as the end of a value and silently drops the rest of it). <see cref="What"/> completes
/// "this value holds ..." and "the file holds ...".
/// </summary>
internal readonly record struct TextFlaw(Mark At, string What)
{
    /// <summary>The first control character other than tab, line feed and carriage return (YAML's c-printable), if any.</summary>
    public static TextFlaw? FindControlCharacter(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\t' or '\n' or '\r' || (c >= ' ' && c != '\x7f')) continue;
            return new TextFlaw(MarkAt(text, i), $"a control character (U+{(int)c:X4}), which YAML does not allow");
        }
        return null;
    }

    /// <summary>Where the character at <paramref name="index"/> is, as YamlDotNet counts (1-based line and column).</summary>
    public static Mark MarkAt(string text, int index)
    {
        var lineStart = index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1;
        var line = text.AsSpan(0, index).Count('\n') + 1;
        return new Mark(index, line, index - lineStart + 1);
    }
}
