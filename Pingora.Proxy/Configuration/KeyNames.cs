using System.Text;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// How YAML keys are matched to property names, and how a near miss is suggested. Pingora's keys are snake_case and
/// YARP's are PascalCase (as in appsettings.json); dropping case and underscores lets one rule serve both.
/// </summary>
internal static class KeyNames
{
    public static string Normalize(string key) => key.Replace("_", "").ToLowerInvariant();

    public static bool Same(string a, string b) => Normalize(a) == Normalize(b);

    public static string ToSnakeCase(string pascalName)
    {
        var sb = new StringBuilder(pascalName.Length + 4);
        for (var i = 0; i < pascalName.Length; i++)
        {
            var c = pascalName[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The candidate closest to a key that matched nothing, or null if none is close enough to be a typo.
    /// Property names are offered in the style the user wrote (snake_case unless the key had capitals and no
    /// underscore), so the suggestion can be pasted back; <paramref name="literalNames"/> are offered as they are.
    /// </summary>
    public static string? Suggest(string written, IEnumerable<string> propertyNames, IEnumerable<string>? literalNames = null)
    {
        var pascal = written.Any(char.IsUpper) && !written.Contains('_');
        var candidates = propertyNames.Select(p => pascal ? p : ToSnakeCase(p)).Concat(literalNames ?? []);
        var target = Normalize(written);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var normalized = Normalize(candidate);
            var distance = Distance(target, normalized);
            // About one edit per three characters: catches typos and dropped letters without proposing unrelated keys.
            var allowed = Math.Max(1, Math.Min(target.Length, normalized.Length) / 3);
            if (distance <= allowed && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>Levenshtein edit distance.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
