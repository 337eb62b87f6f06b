using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>The status path is answered by the daemon itself on every listener, even when a catch-all route would
/// otherwise send it to a backend. The upgrade tests rely on it to learn which process answered.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class StatusEndpointTests : PingoraTestBase
{
    [Test]
    public async Task Status_is_answered_by_the_daemon_on_plain_and_tls_listeners()
    {
        var a = await StartBackendAsync("A");
        var certificate = CreateCertificate();
        var config = NewConfig();
        var plain = config.AddListener();
        var tls = config.AddListener(certificate);
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", a);
        var pingora = await StartServingAsync(config);

        foreach (var (listener, client) in new[] { (plain, NewClient()), (tls, NewClient(certificate)) })
        {
            var status = await client.GetStatusAsync(listener.Url("/status"));
            using var raw = await client.GetAsync(listener.Url("/status"));
            using (Assert.EnterMultipleScope())
            {
                Assert.That(status.Pid, Is.EqualTo(pingora.Pid), listener.BaseUri.ToString());
                Assert.That(status.Version, Is.Not.Null.And.Not.Empty, listener.BaseUri.ToString());
                Assert.That(status.State, Is.EqualTo("serving"), listener.BaseUri.ToString());
                Assert.That(raw.Headers.Contains(TestBackend.BackendHeader), Is.False,
                    $"{listener.BaseUri}: /status must not be forwarded to a backend");
            }
        }
        Assert.That(a.RequestCount, Is.Zero, "the catch-all route's backend must never see /status");
    }
}
