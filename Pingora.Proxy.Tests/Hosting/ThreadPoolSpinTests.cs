using System.Text.Json;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Hosting;

[TestFixture]
public sealed class ThreadPoolSpinTests
{
    /// <summary>
    /// The daemon's runtimeconfig (copied beside the tests from its build, and embedded as is in the published file)
    /// turns the thread pool's spinning off: on two cores it cost a third of the CPU per request at a fixed rate.
    /// </summary>
    [Test]
    public void The_daemon_runs_with_no_thread_pool_spinning()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "pingora.runtimeconfig.json");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var options = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.That(options.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out var limit), Is.True, path);
        Assert.That(limit.GetInt32(), Is.Zero);
    }
}
