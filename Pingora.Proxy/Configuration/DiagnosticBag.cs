namespace Pingora.Proxy.Configuration;

/// <summary>
/// Collects every error and warning of one load, so a user sees all their mistakes in one run of <c>-t</c>
/// rather than one per attempt.
/// </summary>
internal sealed class DiagnosticBag(string file)
{
    private readonly List<ConfigDiagnostic> _errors = [];
    private readonly List<ConfigDiagnostic> _warnings = [];
    // Canonical paths of nodes that failed to bind, so later checks can stay quiet about their consequences.
    private readonly HashSet<string> _errorPaths = new(StringComparer.Ordinal);
    private int _uncountedWarnings;

    public bool HasErrors => _errors.Count > 0;

    /// <summary>
    /// How many errors, and separately warnings, a load reports: a file of 100,000 unknown keys must not print
    /// 100,000 lines into the journal at every reload. The rest are counted in one last line.
    /// </summary>
    public const int MaxReported = 50;

    public IReadOnlyList<ConfigDiagnostic> Errors => Capped(_errors, 0, "errors");
    public IReadOnlyList<ConfigDiagnostic> Warnings => Capped(_warnings, _uncountedWarnings, "warnings");

    public void Error(SourceLocation at, string message, string? canonicalPath = null)
    {
        _errors.Add(new ConfigDiagnostic(file, at.Line, at.Column, at.Key, message));
        // The path and each of its ancestors, so that the question below is one lookup even with 100,000 errors.
        for (var path = canonicalPath; path is not null; path = Parent(path))
        {
            if (!_errorPaths.Add(path)) break;
        }
    }

    public void Warning(SourceLocation at, string message) =>
        _warnings.Add(new ConfigDiagnostic(file, at.Line, at.Column, at.Key, message));

    /// <summary>
    /// Whether a warning would still be shown; past <see cref="MaxReported"/> a caller may skip the cost of its
    /// message (a suggestion for each of 100,000 unknown keys) and only <see cref="CountWarning"/>.
    /// </summary>
    public bool WarningsFull => _warnings.Count >= MaxReported;

    public void CountWarning() => _uncountedWarnings++;

    /// <summary>Whether binding reported an error at <paramref name="canonicalPath"/> or anywhere below it.</summary>
    public bool HasErrorsWithin(string canonicalPath) => _errorPaths.Contains(canonicalPath);

    private static string? Parent(string path)
    {
        if (path.Length == 0) return null;
        return path[..Math.Max(0, path.LastIndexOfAny(['.', '[']))];
    }

    private static ConfigDiagnostic[] Capped(List<ConfigDiagnostic> list, int uncounted, string what)
    {
        var inOrder = list.OrderBy(d => d.Line).ThenBy(d => d.Column);
        var more = list.Count - MaxReported + uncounted;
        if (more <= 0) return inOrder.ToArray();
        var shown = inOrder.Take(MaxReported).ToList();
        var last = shown[^1];
        shown.Add(last with { Message = $"and {more} more {what} after this line, not shown" });
        return shown.ToArray();
    }
}
