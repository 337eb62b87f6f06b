using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Admin;

/// <summary>
/// What <c>/ready</c> answers, from the lifecycle state: ready (200) while serving, and not ready (503) before serving
/// and once the process drains for good (SIGTERM), so that a load balancer takes the machine out of rotation.
/// An upgrade never makes it 503: the listening sockets are the machine's, and after a committed handoff the
/// successor accepts on them. The old process, which still answers on connections it accepted, stays ready for
/// the same reason: a 503 from it would take the machine out of rotation while the successor serves.
/// </summary>
public sealed class Readiness
{
    private readonly LifecycleState _lifecycle;
    private volatile bool _handedOver;

    public Readiness(LifecycleState lifecycle)
    {
        _lifecycle = lifecycle;
        lifecycle.Entered += phase =>
        {
            if (phase == Phase.HandoffAcknowledged) _handedOver = true;
        };
    }

    /// <summary>True once a handoff committed: the successor serves this process's listeners.</summary>
    public bool HandedOver => _handedOver;

    public bool IsReady => IsReadyIn(_lifecycle.Current, _handedOver);

    public static bool IsReadyIn(Phase current, bool handedOver) => current switch
    {
        < Phase.Serving => false,
        Phase.StopAccepting or Phase.Drain or Phase.Drained or Phase.Exit => handedOver,
        _ => true,
    };
}
