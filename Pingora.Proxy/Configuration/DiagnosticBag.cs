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

    public bool HasErrors => _errors.Count > 0;

    public IReadOnlyList<ConfigDiagnostic> Errors => InFileOrder(_errors);
    public IReadOnlyList<ConfigDiagnostic> Warnings => InFileOrder(_warnings);

    public void Error(SourceLocation at, string message, string? canonicalPath = null)
    {
        _errors.Add(new ConfigDiagnostic(file, at.Line, at.Column, at.Key, message));
        if (canonicalPath is not null) _errorPaths.Add(canonicalPath);
    }

    public void Warning(SourceLocation at, string message) =>
        _warnings.Add(new ConfigDiagnostic(file, at.Line, at.Column, at.Key, message));

    /// <summary>Whether binding reported an error at <paramref name="canonicalPath"/> or anywhere below it.</summary>
    public bool HasErrorsWithin(string canonicalPath) =>
        _errorPaths.Any(p => p.Length == canonicalPath.Length
            ? p == canonicalPath
            : p.StartsWith(canonicalPath, StringComparison.Ordinal) && (p[canonicalPath.Length] is '.' or '['));

    private static ConfigDiagnostic[] InFileOrder(List<ConfigDiagnostic> list) =>
        list.OrderBy(d => d.Line).ThenBy(d => d.Column).ToArray();
}
