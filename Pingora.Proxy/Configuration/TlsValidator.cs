using Pingora.Proxy.Files;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Checks a listener's TLS files by loading them as the host will (<see cref="PemCertificate"/>), so a bad
/// certificate fails <c>-t</c> and a reload rather than the start of a new process in the middle of an upgrade.
/// </summary>
internal static class TlsValidator
{
    public static void Validate(TlsConf tls, string tlsPath, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        if (diagnostics.HasErrorsWithin(tlsPath)) return;
        var certificatePath = $"{tlsPath}.{nameof(TlsConf.CertificatePath)}";
        var keyPath = $"{tlsPath}.{nameof(TlsConf.KeyPath)}";
        var certificateAt = sourceMap.Locate(certificatePath, "certificate_path");
        var keyAt = sourceMap.Locate(keyPath, "key_path");
        var missing = false;
        if (string.IsNullOrWhiteSpace(tls.CertificatePath))
        {
            diagnostics.Error(certificateAt, "missing: the path of the PEM certificate file");
            missing = true;
        }
        if (string.IsNullOrWhiteSpace(tls.KeyPath))
        {
            diagnostics.Error(keyAt, "missing: the path of the PEM private key file");
            missing = true;
        }
        if (missing) return;

        var loaded = PemCertificate.Load(tls.CertificatePath, tls.KeyPath);
        using var certificate = loaded.Certificate;
        switch (loaded.Failed)
        {
            case PemFile.Certificate:
                diagnostics.Error(certificateAt, Unreadable(tls.CertificatePath, loaded.Error!));
                break;
            case PemFile.Key:
                diagnostics.Error(keyAt, Unreadable(tls.KeyPath, loaded.Error!));
                break;
            case PemFile.Both:
                diagnostics.Error(certificateAt, $"cannot load the PEM certificate with its key: {loaded.Error}");
                break;
            default:
                if (!certificate!.HasPrivateKey)
                    diagnostics.Error(certificateAt, "the key in key_path does not belong to this certificate");
                else if (certificate.NotAfter < DateTime.Now)
                    diagnostics.Warning(certificateAt, $"the certificate expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z; clients will refuse it");
                break;
        }
    }

    private static string Unreadable(string file, string reason) =>
        reason == BoundedFile.NotFound ? $"file not found: {file}" : $"cannot read {file}: {reason}";
}
