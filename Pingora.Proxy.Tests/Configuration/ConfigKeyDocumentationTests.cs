using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Configuration;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.Configuration;

/// <summary>
/// The server keys are described once, in README.md's table; conf.example.yaml shows every one of them. Both must name
/// exactly the keys the binder takes (ServerConf's settable properties, in snake_case), so a key added, renamed or
/// removed in the code fails here until the README and the example follow.
/// </summary>
public sealed partial class ConfigKeyDocumentationTests
{
    private const string TableHeading = "### Server keys";

    [Test]
    public void TheReadmeTableNamesExactlyTheServerKeys()
    {
        var problems = Compare("README.md", $"the table under \"{TableHeading}\"", ReadmeTableKeys(),
            key => $"add a row: | `{key}` | {DefaultOf(key)} | what it does |");
        if (problems.Count > 0) Assert.Fail(string.Join(Environment.NewLine, problems));
    }

    [Test]
    public void TheExampleFileShowsExactlyTheServerKeys()
    {
        var problems = Compare("conf.example.yaml", "its top-level keys (set, or commented out as '# key: value')",
            ExampleKeys(), key => $"add the line: # {key}: {DefaultOf(key)}");
        if (problems.Count > 0) Assert.Fail(string.Join(Environment.NewLine, problems));
    }

    [Test]
    public void TheExampleFileLoadsWithoutErrorsOrWarnings()
    {
        var result = ConfigLoader.Load(Path.Combine(RepoPaths.RepoRoot, "conf.example.yaml"));
        Assert.That(result.Errors.Concat(result.Warnings).Select(d => d.ToString()), Is.Empty);
    }

    /// <summary>Every key the binder takes, mapped to the property it binds.</summary>
    private static IReadOnlyDictionary<string, PropertyInfo> BinderKeys() =>
        typeof(ServerConf).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .ToDictionary(p => KeyNames.ToSnakeCase(p.Name));

    private static List<string> Compare(string file, string where, IReadOnlyList<(string Key, int Line)> documented,
        Func<string, string> howToAdd)
    {
        var binder = BinderKeys();
        var problems = new List<string>();
        foreach (var (key, line) in documented.Where(d => !binder.ContainsKey(d.Key)))
            problems.Add($"{file}:{line}: names `{key}`, which no ServerConf property binds: fix the spelling, " +
                         "remove it, or add the property");
        foreach (var (key, line) in documented.GroupBy(d => d.Key).Where(g => g.Count() > 1).Select(g => g.Last()))
            problems.Add($"{file}:{line}: names `{key}` a second time");
        var named = documented.Select(d => d.Key).ToHashSet();
        foreach (var (key, property) in binder.Where(b => !named.Contains(b.Key)))
            problems.Add($"{file}: {where} misses `{key}` (ServerConf.{property.Name}): {howToAdd(key)}");
        if (documented.Count == 0)
            problems.Add($"{file}: found no keys in {where}: did its layout change?");
        return problems;
    }

    /// <summary>The backquoted names in the first cell of each row of the server key table (a row may name two).</summary>
    private static List<(string Key, int Line)> ReadmeTableKeys()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.RepoRoot, "README.md"));
        var start = Array.IndexOf(lines, TableHeading);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"README.md has no line \"{TableHeading}\"");
        var keys = new List<(string, int)>();
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith('#'); i++)
        {
            if (!lines[i].StartsWith("| `", StringComparison.Ordinal)) continue;
            var firstCell = lines[i].Split('|')[1];
            foreach (Match name in BackquotedName().Matches(firstCell))
                keys.Add((name.Groups[1].Value, i + 1));
        }
        return keys;
    }

    /// <summary>The server keys conf.example.yaml sets or shows commented out, at the start of a line.</summary>
    private static List<(string Key, int Line)> ExampleKeys()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.RepoRoot, "conf.example.yaml"));
        var keys = new List<(string, int)>();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = TopLevelKey().Match(lines[i]);
            if (match.Success && match.Groups[1].Value != ConfigDocumentBinder.ListenersKey)
                keys.Add((match.Groups[1].Value, i + 1));
        }
        return keys;
    }

    private static string DefaultOf(string key)
    {
        var value = BinderKeys()[key].GetValue(new ServerConf());
        return value switch
        {
            null => "(unset)",
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString()!,
        };
    }

    [GeneratedRegex("`([a-z][a-z0-9_]*)`")]
    private static partial Regex BackquotedName();

    // "key:" or "# key:" at column 0; the section keys (listeners, ReverseProxy) are not server keys.
    [GeneratedRegex(@"^(?:# ?)?([a-z][a-z0-9_]*):(?:\s|$)")]
    private static partial Regex TopLevelKey();
}
