using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A systemd unit file as systemd reads it, as far as the tests need: sections, keys in file order (a key may repeat,
/// as ExecReload= does), comments, line continuations, and the command lines of Exec*= split into words the way
/// systemd splits them (whitespace, double and single quotes). Anything it does not understand is an error, so a unit
/// that grows a feature the tests would silently mis-run fails loudly instead.
/// </summary>
public sealed class SystemdUnit
{
    private readonly List<(string Section, string Key, string Value)> _entries;

    private SystemdUnit(List<(string, string, string)> entries) => _entries = entries;

    public static SystemdUnit Load(string path)
    {
        var entries = new List<(string, string, string)>();
        string? section = null;
        var pending = new StringBuilder();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (pending.Length == 0 && (line.Length == 0 || line[0] is '#' or ';')) continue;
            if (line.EndsWith('\\'))
            {
                pending.Append(line[..^1]).Append(' ');
                continue;
            }
            line = pending.Append(line).ToString();
            pending.Clear();
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1];
                continue;
            }
            var equals = line.IndexOf('=');
            if (section is null || equals <= 0) throw new FormatException($"{path}: cannot read line '{raw}'");
            entries.Add((section, line[..equals].Trim(), line[(equals + 1)..].Trim()));
        }
        return new SystemdUnit(entries);
    }

    /// <summary>Every value of the key, in file order.</summary>
    public IReadOnlyList<string> Values(string section, string key) =>
        _entries.Where(e => e.Section == section && e.Key == key).Select(e => e.Value).ToArray();

    /// <summary>The value of a key that must appear exactly once.</summary>
    public string Single(string section, string key)
    {
        var values = Values(section, key);
        if (values.Count != 1) throw new FormatException($"[{section}] {key}= appears {values.Count} times, expected once");
        return values[0];
    }

    /// <summary>The value of a key that may be absent.</summary>
    public string? Optional(string section, string key) => Values(section, key).SingleOrDefault();

    /// <summary>
    /// The words of an Exec*= line. systemd's prefixes (@, -, :, +, !) change how the command runs; the shipped unit
    /// uses none, and a test that ignored one would not play systemd's part, so they are refused here.
    /// </summary>
    public static IReadOnlyList<string> SplitCommand(string commandLine)
    {
        var words = SplitWords(commandLine);
        if (words.Count == 0) throw new FormatException("empty command line");
        if (words[0].Length > 0 && words[0][0] is '@' or '-' or ':' or '+' or '!')
            throw new FormatException($"command prefix '{words[0][0]}' in '{commandLine}' is not supported by this test");
        return words;
    }

    /// <summary>KEY=VALUE assignments of an Environment= line (several per line, quoted ones may hold spaces).</summary>
    public static IReadOnlyDictionary<string, string> SplitEnvironment(string line) =>
        SplitWords(line).Select(word => word.Split('=', 2)).ToDictionary(
            pair => pair[0],
            pair => pair.Length == 2 ? pair[1] : throw new FormatException($"Environment= entry '{pair[0]}' has no '='"));

    private static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in text)
        {
            if (quote is not null)
            {
                if (c == quote) quote = null;
                else word.Append(c);
                continue;
            }
            if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else if (c == '\\')
            {
                throw new FormatException($"backslash escapes are not supported by this test: '{text}'");
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote is not null) throw new FormatException($"unterminated quote in '{text}'");
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
