using Pingora.Proxy.Policies;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Runs every check on a bound configuration. All of them run even after the first error, so one <c>-t</c> lists
/// every mistake in the file.
/// </summary>
internal static class ConfigValidator
{
    public static void Validate(PingoraConfig config, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        ServerConfValidator.Validate(config.Server, sourceMap, diagnostics);
        ListenerValidator.Validate(config.Listeners, sourceMap, diagnostics);
        ListenerValidator.ValidateAdmin(config.Server.AdminListener, config.Listeners, sourceMap, diagnostics);
        ReverseProxyValidator.Validate(config.Routes, config.Clusters, sourceMap, diagnostics);
        PolicyValidator.Validate(config.Policies, sourceMap, diagnostics);
        PolicyReferences.Validate(config.Routes, config.Policies, sourceMap, diagnostics);
        YarpValidation.Validate(config.Routes, config.Clusters, sourceMap, diagnostics);
    }
}
