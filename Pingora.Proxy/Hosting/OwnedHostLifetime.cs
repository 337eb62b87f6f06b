using Microsoft.Extensions.Hosting;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Replaces the generic host's ConsoleLifetime, which would catch SIGINT, SIGQUIT and SIGTERM and start a full
/// shutdown of its own. This daemon owns its signals (see Lifecycle/PosixSignalSource).
/// </summary>
internal sealed class OwnedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
