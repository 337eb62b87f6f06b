using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pingora.Proxy.Files;

/// <summary>
/// The outcome of <see cref="PemCertificate.Load"/>: the certificate with its key, or the reason and which file it is
/// about (<see cref="PemFile.Certificate"/>, <see cref="PemFile.Key"/>, or <see cref="PemFile.Both"/> when the two do
/// not make a certificate together).
/// </summary>
public sealed record CertificateLoad(X509Certificate2? Certificate, PemFile Failed, string? Error)
{
    public bool Ok => Certificate is not null;
}

public enum PemFile { None, Certificate, Key, Both }

/// <summary>
/// Loads a PEM certificate (chain) and its private key, both read through <see cref="BoundedFile"/>, so `-t`, a
/// reload and the start of the host all refuse a device, a FIFO or a huge file in the same words.
/// </summary>
public static class PemCertificate
{
    public static CertificateLoad Load(string certificatePath, string keyPath)
    {
        var certificate = BoundedFile.Read(certificatePath, BoundedFile.PemLimit);
        if (!certificate.Ok) return new CertificateLoad(null, PemFile.Certificate, certificate.Error);
        var key = BoundedFile.Read(keyPath, BoundedFile.PemLimit);
        if (!key.Ok) return new CertificateLoad(null, PemFile.Key, key.Error);
        try
        {
            var loaded = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(certificate.Bytes), Encoding.UTF8.GetString(key.Bytes));
            return new CertificateLoad(loaded, PemFile.None, null);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return new CertificateLoad(null, PemFile.Both, e.Message);
        }
    }
}
