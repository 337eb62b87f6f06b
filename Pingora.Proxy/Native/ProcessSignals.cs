using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Pingora.Proxy.Native;

/// <summary>Signal dispositions and numbers of this process, through Mono.Posix.</summary>
internal static class ProcessSignals
{
    /// <summary>
    /// Signals inherited as ignored (nohup, a shell's background '&amp;') are never delivered to
    /// PosixSignalRegistration (docs/platform.md, signal 1), so the daemon would silently miss SIGQUIT (upgrade) and
    /// SIGINT. Restore the defaults before anything registers handlers.
    /// </summary>
    public static void ResetInheritedDispositions()
    {
        foreach (var signal in (ReadOnlySpan<Signum>)[Signum.SIGQUIT, Signum.SIGINT, Signum.SIGHUP, Signum.SIGTERM])
            Stdlib.SetSignalAction(signal, SignalAction.Default);
    }

    /// <summary>The raw number PosixSignalRegistration takes for a signal .NET has no name for (SIGUSR1).</summary>
    public static PosixSignal Posix(Signum signal) => (PosixSignal)NativeConvert.FromSignum(signal);

    /// <summary>
    /// Test hook: stops this process (SIGSTOP) at <paramref name="point"/> when PINGORA_TEST_STOP_AT names it, so a
    /// test can act on a process frozen at an exact step (a successor that got the fds, a daemon never ready).
    /// </summary>
    public static void StopIfTestAsks(string point)
    {
        if (Environment.GetEnvironmentVariable("PINGORA_TEST_STOP_AT") == point) Stdlib.raise(Signum.SIGSTOP);
    }
}
