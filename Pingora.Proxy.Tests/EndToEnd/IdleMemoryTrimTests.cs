using System.Text.RegularExpressions;
using NUnit.Framework;
using Pingora.Proxy.Memory;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>A process that goes quiet after a burst gives the burst's heap back (see Memory/IdleMemoryTrim).</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed partial class IdleMemoryTrimTests : PingoraTestBase
{
    [GeneratedRegex(@"idle: heap trimmed, RSS (\d+) MB -> (\d+) MB")]
    private static partial Regex Trimmed();

    [Test]
    public async Task After_a_burst_the_quiet_process_trims_its_heap_once()
    {
        var backend = await StartBackendAsync("A");
        var config = NewConfig();
        var listener = config.AddListener();
        config.AddRoute("all", "c1", "/{**rest}");
        config.AddCluster("c1", backend);
        var pingora = await StartServingAsync(config);

        // Well past the work mark: some 3 KB allocated per proxied request.
        var requests = (int)(2 * IdleMemoryTrim.WorkBytes / 3000);
        using var client = NewClient();
        var url = listener.Url("/echo/burst");
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= requests) (await client.GetAsync(url)).EnsureSuccessStatusCode();
        }))).WaitAsync(Timeouts.Phase);

        var line = await pingora.WaitForLineAsync(Trimmed(), Timeouts.Phase);
        var match = Trimmed().Match(line.Text);
        var (before, after) = (long.Parse(match.Groups[1].Value), long.Parse(match.Groups[2].Value));
        Assert.That(after, Is.LessThan(before), line.Text);
    }
}
