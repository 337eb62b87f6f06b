using NUnit.Framework;
using Pingora.Proxy.Admin;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Tests.Lifecycle;

namespace Pingora.Proxy.Tests.Admin;

[TestFixture]
public sealed class ReadinessTests
{
    [Test]
    public void Ready_while_serving_and_through_a_handoff_not_before_serving_nor_in_a_sigterm_drain()
    {
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        var readiness = new Readiness(lifecycle);
        var seen = new List<(Phase, bool)>();
        void Step(Phase phase)
        {
            lifecycle.Enter(phase);
            seen.Add((phase, readiness.IsReady));
        }

        Step(Phase.Configure);
        Step(Phase.Listen);
        Step(Phase.Serving);
        Step(Phase.HandoffStarted);
        lifecycle.Failed(Phase.HandoffFailed, "no successor");
        seen.Add((Phase.HandoffFailed, readiness.IsReady));
        Step(Phase.StopAccepting);   // SIGTERM
        Step(Phase.Drain);

        Assert.That(seen, Is.EqualTo(new[]
        {
            (Phase.Configure, false), (Phase.Listen, false), (Phase.Serving, true), (Phase.HandoffStarted, true),
            (Phase.HandoffFailed, true), (Phase.StopAccepting, false), (Phase.Drain, false),
        }));
    }

    /// <summary>After a committed handoff the successor serves the same sockets: the old process must not take the
    /// machine out of rotation on the connections it still answers.</summary>
    [Test]
    public void The_old_process_stays_ready_after_a_committed_handoff_while_it_drains()
    {
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        var readiness = new Readiness(lifecycle);
        lifecycle.Enter(Phase.Serving);
        lifecycle.Enter(Phase.HandoffAcknowledged);
        Assert.That(readiness.IsReady, Is.True);
        lifecycle.Enter(Phase.StopAccepting);
        lifecycle.Enter(Phase.Drain);
        Assert.That((readiness.HandedOver, readiness.IsReady), Is.EqualTo((true, true)));
    }
}
