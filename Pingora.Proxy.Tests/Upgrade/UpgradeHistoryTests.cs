using NUnit.Framework;
using Pingora.Proxy.Lifecycle;
using Pingora.Proxy.Tests.Lifecycle;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Tests.Upgrade;

[TestFixture]
public sealed class UpgradeHistoryTests
{
    [Test]
    public void A_first_process_is_generation_1_and_counts_its_own_handoffs()
    {
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        var history = new UpgradeHistory(lifecycle);
        Assert.That((history.Generation, history.Committed, history.Failed, history.LastOutcome), Is.EqualTo((1u, 0u, 0u, (string?)null)));

        lifecycle.Enter(Phase.Serving);
        lifecycle.Failed(Phase.HandoffFailed, "no successor");
        Assert.That((history.Failed, history.LastOutcome), Is.EqualTo((1u, "failed")));
        lifecycle.Enter(Phase.HandoffAcknowledged);
        Assert.That(history.Lineage, Is.EqualTo(new HandoffLineage(1, 1, 1)));
        Assert.That(history.LastOutcome, Is.EqualTo("committed"));
    }

    [Test]
    public void A_successor_is_one_generation_more_and_counts_the_upgrade_that_started_it_at_its_commit()
    {
        var lifecycle = new LifecycleState(new LogCapture().CreateLogger());
        var history = new UpgradeHistory(lifecycle);

        // What the predecessor sent: before its acknowledgement, so without the upgrade in progress.
        history.Inherit(new HandoffLineage(3, 2, 1));
        Assert.That(history.Lineage, Is.EqualTo(new HandoffLineage(4, 2, 1)));
        lifecycle.Enter(Phase.Serving);
        lifecycle.Enter(Phase.UpgradeCommitted);

        Assert.That(history.Lineage, Is.EqualTo(new HandoffLineage(4, 3, 1)));
        Assert.That(history.LastOutcome, Is.EqualTo("committed"));
    }
}
