using System.Net;
using System.Net.Http;
using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// After the predecessor has exited, the successor still closes connections gracefully. If the predecessor disposed
/// its copy of a shared listening socket the abortive way, SO_LINGER {1,0} is set on the shared socket and every
/// connection the successor accepts inherits it: a large response to a slow reader is then cut by RST at close.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeLingerTests : PingoraTestBase
{
    private const int DownloadBytes = 8 * 1024 * 1024;

    /// <summary>Downloads /bytes on a new connection with Connection: close, reading 16 KiB at a time with a pause
    /// before each read, and checks every byte.</summary>
    private static async Task SlowDownloadAsync(Uri url, string what)
    {
        using var client = HttpClients.Create(timeout: Timeout.InfiniteTimeSpan);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        // The server closes right after the last byte: the moment an inherited SO_LINGER 0 turns into RST.
        request.Headers.ConnectionClose = true;
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), what);

        await using var body = new ThrottledStream(await response.Content.ReadAsStreamAsync(cts.Token), 16 * 1024, TimeSpan.FromMilliseconds(2));
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer, cts.Token)) > 0)
            {
                var mismatch = BytePattern.FirstMismatch(buffer.AsSpan(0, n), total);
                Assert.That(mismatch, Is.EqualTo(-1), $"{what}: wrong byte at offset {total + mismatch}");
                total += n;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            Assert.Fail($"{what}: the download was cut after {total} of {DownloadBytes} bytes: {e}");
        }
        Assert.That(total, Is.EqualTo(DownloadBytes), $"{what}: body length");
    }

    [Test]
    public async Task A_slow_multi_megabyte_download_through_the_successor_completes_after_the_predecessor_exited()
    {
        var proxy = await StartProxyAsync();
        var url = proxy.Listener.Url($"/bytes?n={DownloadBytes}");
        // Control: the same download before any upgrade. If this fails, the fault is not the handoff.
        await SlowDownloadAsync(url, "download before the upgrade");

        var successor = await UpgradeAsync(proxy.Pingora, proxy.Config, UpgradeOrder.SuccessorFirst);
        await AwaitPredecessorExitAsync(proxy.Pingora, proxy.Config);
        Assert.That((await NewClient().GetStatusAsync(proxy.Listener.Url("/status"))).Pid, Is.EqualTo(successor.Pid));

        await Task.WhenAll(
            SlowDownloadAsync(url, "first download through the successor"),
            SlowDownloadAsync(url, "second download through the successor"));
        Assert.That(successor.HasExited, Is.False, successor.LastLines());
    }
}
