using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Checks a listener's TLS files by loading them as Kestrel will, so a bad certificate fails <c>-t</c> and a reload
/// rather than the start of a new process in the middle of an upgrade.
/// </summary>
internal static class TlsValidator
{
    public static void Validate(TlsConf tls, string tlsPath, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        if (diagnostics.HasErrorsWithin(tlsPath)) return;
        var certificatePath = $"{tlsPath}.{nameof(TlsConf.CertificatePath)}";
        var certificateReadable = CheckReadable(tls.CertificatePath, certificatePath, "certificate_path", "certificate", sourceMap, diagnostics);
        var keyReadable = CheckReadable(tls.KeyPath, $"{tlsPath}.{nameof(TlsConf.KeyPath)}", "key_path", "private key", sourceMap, diagnostics);
        if (!certificateReadable || !keyReadable) return;

        var at = sourceMap.Locate(certificatePath);
        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            if (!certificate.HasPrivateKey)
                diagnostics.Error(at, "the key in key_path does not belong to this certificate");
            else if (certificate.NotAfter < DateTime.Now)
                diagnostics.Warning(at, $"the certificate expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z; clients will refuse it");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            diagnostics.Error(at, $"cannot load the PEM certificate with its key: {e.Message}");
        }
    }

    private static bool CheckReadable(string file, string canonicalPath, string keyName, string what, SourceMap sourceMap,
        DiagnosticBag diagnostics)
    {
        var at = sourceMap.Locate(canonicalPath, keyName);
        if (string.IsNullOrWhiteSpace(file))
        {
            diagnostics.Error(at, $"missing: the path of the PEM {what} file");
            return false;
        }
        try
        {
            using var stream = File.OpenRead(file);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            diagnostics.Error(at, $"file not found: {file}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            diagnostics.Error(at, $"cannot read {file}: {e.Message}");
        }
        return false;
    }
}
