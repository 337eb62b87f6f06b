using NUnit.Framework;
using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Tests.Lifecycle;

[TestFixture]
public sealed class LifecycleStateTests
{
    [Test]
    public void Each_phase_logs_one_line_by_its_name_and_tells_observers()
    {
        var log = new LogCapture();
        var lifecycle = new LifecycleState(log.CreateLogger());
        var seen = new List<Phase>();
        lifecycle.Entered += seen.Add;

        lifecycle.Enter(Phase.Serving, "pid {Pid}", 42);
        lifecycle.Failed(Phase.HandoffFailed, "{Reason}", "no successor");

        Assert.That(log.Lines, Is.EqualTo(new[] { "phase=serving pid 42", "phase=handoff-failed no successor" }));
        Assert.That(seen, Is.EqualTo(new[] { Phase.Serving, Phase.HandoffFailed }));
    }

    [Test]
    public void Steps_that_leave_the_process_serving_do_not_become_its_state()
    {
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        lifecycle.Enter(Phase.Serving);
        lifecycle.Enter(Phase.HandoffStarted);
        lifecycle.Enter(Phase.Reload);
        Assert.That(lifecycle.Current, Is.EqualTo(Phase.HandoffStarted), "a reload during a handoff leaves it in progress");
        lifecycle.Failed(Phase.HandoffFailed, "x");
        Assert.That(lifecycle.Current, Is.EqualTo(Phase.Serving));
        lifecycle.Enter(Phase.UpgradeCommitted);
        Assert.That(lifecycle.Current, Is.EqualTo(Phase.Serving));
    }

    [TestCase(Phase.Configure, "starting")]
    [TestCase(Phase.UpgradeWait, "starting")]
    [TestCase(Phase.Listen, "starting")]
    [TestCase(Phase.Serving, "serving")]
    [TestCase(Phase.HandoffSent, "serving")]
    [TestCase(Phase.HandoffAcknowledged, "handing over")]
    [TestCase(Phase.StopAccepting, "draining")]
    [TestCase(Phase.Drained, "draining")]
    [TestCase(Phase.Exit, "exiting")]
    public void Status_reports_the_phase_in_one_word(Phase phase, string state) =>
        Assert.That(phase.StatusName(), Is.EqualTo(state));

    [TestCase(Phase.UpgradeWait, "upgrade-wait")]
    [TestCase(Phase.HandoffAcknowledged, "handoff-acknowledged")]
    [TestCase(Phase.StopAccepting, "stop-accepting")]
    public void Log_names_are_kebab_case(Phase phase, string name) => Assert.That(phase.LogName(), Is.EqualTo(name));
}
