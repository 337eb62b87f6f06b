using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// A self-signed server certificate for the daemon's TLS listeners (CN=localhost, SAN DNS:localhost and
/// IP:127.0.0.1), written as a PEM certificate and a PEM PKCS#8 key, the files a user would configure.
/// Clients trust it by pinning its SHA-256 thumbprint: validation stays on, and a different certificate is refused.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    public string CertificatePath { get; }
    public string KeyPath { get; }

    /// <summary>The certificate with its private key, for a test-side TLS server.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Upper-case hex SHA-256 of the DER certificate.</summary>
    public string Sha256Thumbprint { get; }

    private TestCertificate(string certificatePath, string keyPath, X509Certificate2 certificate)
    {
        CertificatePath = certificatePath;
        KeyPath = keyPath;
        Certificate = certificate;
        Sha256Thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    /// <summary>Generates a key pair and certificate and writes <c>NAME.crt.pem</c> and <c>NAME.key.pem</c> into
    /// <paramref name="directory"/>.</summary>
    public static TestCertificate Create(string directory, string fileName = "localhost")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        // Backdated by an hour so clock skew between the test and the daemon cannot make it "not yet valid".
        var now = DateTimeOffset.UtcNow;
        using var generated = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(7));

        Directory.CreateDirectory(directory);
        var certificatePath = Path.Combine(directory, fileName + ".crt.pem");
        var keyPath = Path.Combine(directory, fileName + ".key.pem");
        File.WriteAllText(certificatePath, generated.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");

        // Load back from the files, exactly as the daemon will, so a bad PEM fails here first.
        var loaded = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        return new TestCertificate(certificatePath, keyPath, loaded);
    }

    /// <summary>True for this certificate and nothing else.</summary>
    public bool Matches(X509Certificate? presented) =>
        presented is not null &&
        string.Equals(presented.GetCertHashString(HashAlgorithmName.SHA256), Sha256Thumbprint, StringComparison.OrdinalIgnoreCase);

    /// <summary>A validation callback that pins this certificate (chain and name errors of a self-signed
    /// certificate are expected and irrelevant once the exact certificate is pinned).</summary>
    public RemoteCertificateValidationCallback ValidationCallback =>
        (_, presented, _, _) => Matches(presented);

    public void Dispose() => Certificate.Dispose();
}
