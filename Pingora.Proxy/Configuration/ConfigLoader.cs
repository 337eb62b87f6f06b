namespace Pingora.Proxy.Configuration;

// The keys of the file are described once, for operators, in README.md ("Configuration": the server key table,
// listeners, routes and clusters); conf.example.yaml shows every server key. ConfigKeyDocumentationTests fails when
// the README's table or conf.example.yaml and ServerConf disagree, and its message names the key and the file.

/// <summary>
/// Reads and checks a configuration file. A mistake in the file never throws: it becomes a
/// <see cref="ConfigDiagnostic"/> naming file, line, column and key, and all of them are collected in one pass.
/// </summary>
public static class ConfigLoader
{
    public static ConfigLoadResult Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
                                      or NotSupportedException or System.Security.SecurityException)
        {
            return new ConfigLoadResult(null, [new ConfigDiagnostic(path, 0, 0, "-", $"cannot read the configuration file: {e.Message}")], []);
        }
        return Parse(text, path);
    }

    /// <summary>Checks <paramref name="yamlText"/> as the content of the file at <paramref name="path"/> (used in messages).</summary>
    public static ConfigLoadResult Parse(string yamlText, string path)
    {
        YarpValidation.Prepare();
        var diagnostics = new DiagnosticBag(path);
        var root = YamlDocumentReader.Read(yamlText, diagnostics);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        var sourceMap = new SourceMap();
        var config = ConfigDocumentBinder.Bind(root, path, diagnostics, sourceMap);
        ResolveRelativePaths(config, Path.GetDirectoryName(Path.GetFullPath(path))!);
        ConfigValidator.Validate(config, sourceMap, diagnostics);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        NormalizeProtocols(config);
        return new ConfigLoadResult(config, [], diagnostics.Warnings);
    }

    /// <summary>
    /// Relative paths in the file are relative to the file's own directory, so that they mean the same for `-t` in a
    /// shell, a foreground server, a daemon after it changed to working_directory, and a reload.
    /// </summary>
    private static void ResolveRelativePaths(PingoraConfig config, string directory)
    {
        string? Resolve(string? path) => string.IsNullOrWhiteSpace(path) ? path : Path.GetFullPath(path, directory);
        var server = config.Server;
        server.PidFile = Resolve(server.PidFile)!;
        server.UpgradeSock = Resolve(server.UpgradeSock)!;
        server.ErrorLog = Resolve(server.ErrorLog);
        server.WorkingDirectory = Resolve(server.WorkingDirectory);
        server.SessionAffinityKeysDir = Resolve(server.SessionAffinityKeysDir);
        foreach (var tls in config.Listeners.Select(l => l.Tls).OfType<TlsConf>())
        {
            tls.CertificatePath = Resolve(tls.CertificatePath)!;
            tls.KeyPath = Resolve(tls.KeyPath)!;
        }
    }

    /// <summary>Consumers compare protocols against "http1" and "http2" only; the file may say "Http2".</summary>
    private static void NormalizeProtocols(PingoraConfig config)
    {
        foreach (var listener in config.Listeners)
        {
            if (listener.Protocols is { } protocols)
                listener.Protocols = protocols.Select(p => p.ToLowerInvariant()).Distinct().ToArray();
        }
    }
}
