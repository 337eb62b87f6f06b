using System.Diagnostics.CodeAnalysis;

namespace Pingora.Proxy.Configuration;

/// <summary>The outcome of loading a configuration file: the configuration when it is usable, and every problem found.</summary>
public sealed class ConfigLoadResult
{
    public ConfigLoadResult(PingoraConfig? config, IReadOnlyList<ConfigDiagnostic> errors, IReadOnlyList<ConfigDiagnostic> warnings)
    {
        // A caller must never act on a configuration that has errors, so it is withheld rather than trusted to be checked.
        Config = errors.Count == 0 ? config : null;
        Errors = errors;
        Warnings = warnings;
    }

    /// <summary>The configuration; null whenever <see cref="Errors"/> is not empty.</summary>
    public PingoraConfig? Config { get; }
    public IReadOnlyList<ConfigDiagnostic> Errors { get; }
    public IReadOnlyList<ConfigDiagnostic> Warnings { get; }

    [MemberNotNullWhen(true, nameof(Config))]
    public bool Ok => Errors.Count == 0 && Config is not null;
}
