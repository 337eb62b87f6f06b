using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The generated certificate files work for a real TLS server, and pinning accepts exactly that certificate.</summary>
[TestFixture]
[Category("Harness")]
public sealed class CertificateChecks
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pingora-e2e", "cert-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Certificate_names_localhost_and_127_0_0_1_and_is_written_as_pem()
    {
        using var certificate = TestCertificate.Create(_dir);
        var san = certificate.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();

        Assert.That(certificate.Certificate.Subject, Is.EqualTo("CN=localhost"));
        Assert.That(san.EnumerateDnsNames(), Is.EquivalentTo(new[] { "localhost" }));
        Assert.That(san.EnumerateIPAddresses(), Is.EquivalentTo(new[] { IPAddress.Loopback }));
        Assert.That(certificate.Certificate.HasPrivateKey, Is.True);
        Assert.That(File.ReadAllText(certificate.CertificatePath), Does.StartWith("-----BEGIN CERTIFICATE-----"));
        Assert.That(File.ReadAllText(certificate.KeyPath), Does.StartWith("-----BEGIN PRIVATE KEY-----"));
    }

    [Test]
    public async Task A_pinned_client_talks_http1_and_http2_to_a_server_using_the_pem_files()
    {
        using var certificate = TestCertificate.Create(_dir);
        using var fromFiles = X509Certificate2.CreateFromPemFile(certificate.CertificatePath, certificate.KeyPath);
        await using var backend = await TestBackend.StartAsync("tls", fromFiles);
        using var client = HttpClients.Create(certificate);

        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(backend.BaseUri, "/echo/tls"))
            {
                Version = version,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var response = await client.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"HTTP/{version}");
            Assert.That(response.Version, Is.EqualTo(version));
        }
    }

    [Test]
    public async Task A_client_pinned_to_another_certificate_is_refused()
    {
        using var served = TestCertificate.Create(_dir, "served");
        using var other = TestCertificate.Create(_dir, "other");
        await using var backend = await TestBackend.StartAsync("tls", served.Certificate);
        using var client = HttpClients.Create(other);

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri(backend.BaseUri, "/echo/tls")));
        Assert.That(failure!.InnerException, Is.InstanceOf<AuthenticationException>(), failure.ToString());
    }
}
