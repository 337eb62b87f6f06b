using System.Text;
using System.Text.Unicode;
using Pingora.Proxy.Files;
using YamlDotNet.Core;

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
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the file through <see cref="BoundedFile"/> (a regular file of at most a few MB) and checks it.</summary>
    public static ConfigLoadResult Load(string path)
    {
        var read = BoundedFile.Read(path, BoundedFile.ConfigLimit);
        if (!read.Ok)
            return new ConfigLoadResult(null, [new ConfigDiagnostic(path, 0, 0, "-", $"cannot read the configuration file: {path}: {read.Error}")], []);
        var bytes = read.Bytes.AsSpan();
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        try
        {
            return Parse(StrictUtf8.GetString(bytes), path);
        }
        catch (DecoderFallbackException)
        {
            return Parse(Encoding.UTF8.GetString(bytes), path, InvalidUtf8At(bytes));
        }
    }

    /// <summary>Checks <paramref name="yamlText"/> as the content of the file at <paramref name="path"/> (used in messages).</summary>
    public static ConfigLoadResult Parse(string yamlText, string path) => Parse(yamlText, path, null);

    private static ConfigLoadResult Parse(string yamlText, string path, TextFlaw? flaw)
    {
        var diagnostics = new DiagnosticBag(path);
        try
        {
            return Check(yamlText, path, flaw, diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A promise, not a path anyone should take: a broken file never takes down -t or a running daemon.
            // The hostile-file tests fail if any of them ever gets here.
            diagnostics.Error(new SourceLocation(1, 1, "-"), $"{InternalErrorMarker} while checking the file ({e.GetType().Name}: {e.Message}); please report it");
            return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);
        }
    }

    /// <summary>Starts the message of a diagnostic that stands for a bug in the checks rather than in the file.</summary>
    public const string InternalErrorMarker = "internal error";

    private static ConfigLoadResult Check(string yamlText, string path, TextFlaw? flaw, DiagnosticBag diagnostics)
    {
        YarpValidation.Prepare();
        var root = YamlDocumentReader.Read(yamlText, diagnostics, flaw);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        var sourceMap = new SourceMap();
        var config = ConfigDocumentBinder.Bind(root, path, diagnostics, sourceMap);
        ResolveRelativePaths(config, Path.GetDirectoryName(Path.GetFullPath(path))!);
        ConfigValidator.Validate(config, sourceMap, diagnostics);
        if (diagnostics.HasErrors) return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);

        NormalizeProtocols(config);
        return new ConfigLoadResult(config, [], diagnostics.Warnings);
    }

    /// <summary>Where the first byte that is not UTF-8 is, counted in the text decoded with replacement characters.</summary>
    private static TextFlaw InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        Utf8.ToUtf16(bytes, chars, out var validBytes, out var written, replaceInvalidSequences: false);
        var before = chars.AsSpan(0, written).ToString();
        return new TextFlaw(TextFlaw.MarkAt(before + " ", before.Length), $"a byte that is not UTF-8 (0x{bytes[validBytes]:X2}); the file must be UTF-8 text");
    }

    /// <summary>
    /// Relative paths in the file are relative to the file's own directory, so that they mean the same for `-t` in a
    /// shell, a foreground server, a daemon after it changed to working_directory, and a reload.
    /// </summary>
    private static void ResolveRelativePaths(PingoraConfig config, string directory)
    {
        // A NUL never gets past the YAML reader; the check keeps GetFullPath from throwing should one ever do.
        string? Resolve(string? path) => string.IsNullOrWhiteSpace(path) || path.Contains('\0') ? path : Path.GetFullPath(path, directory);
        var server = config.Server;
        server.PidFile = Resolve(server.PidFile)!;
        server.UpgradeSock = Resolve(server.UpgradeSock)!;
        server.ErrorLog = Resolve(server.ErrorLog);
        server.AccessLog = Resolve(server.AccessLog);
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
