using System.Runtime.InteropServices;
using System.Threading.Channels;
using Mono.Unix.Native;
using Pingora.Proxy.Native;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// Turns POSIX signals into a queue the lifecycle reads in order. Cancelling each signal's default action is what
/// keeps the runtime from exiting on it; the generic host's own handlers are replaced (OwnedHostLifetime).
/// </summary>
public sealed class PosixSignalSource : ISignalSource, IDisposable
{
    private readonly Channel<Signal> _signals = Channel.CreateUnbounded<Signal>();
    private readonly List<PosixSignalRegistration> _registrations = [];

    public PosixSignalSource()
    {
        Register(PosixSignal.SIGTERM, Signal.Terminate);
        Register(PosixSignal.SIGINT, Signal.Interrupt);
        Register(PosixSignal.SIGQUIT, Signal.Upgrade);
        Register(PosixSignal.SIGHUP, Signal.Reload);
        Register(ProcessSignals.Posix(Signum.SIGUSR1), Signal.Reopen);
    }

    public ChannelReader<Signal> Signals => _signals.Reader;

    private void Register(PosixSignal posix, Signal signal) =>
        _registrations.Add(PosixSignalRegistration.Create(posix, context =>
        {
            context.Cancel = true;
            _signals.Writer.TryWrite(signal);
        }));

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}
