using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>Graceful upgrades (SIGQUIT + <c>pingora -u</c>) under continuous load from keep-alive and
/// new-connection clients: not one request may fail, of any kind, and every generation answers.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeUnderLoadTests : PingoraTestBase
{
    private const int AnswersPerStep = 50;

    [TestCase(UpgradeOrder.SuccessorFirst)]
    [TestCase(UpgradeOrder.SignalFirst)]
    public async Task An_upgrade_under_load_drops_no_request_and_both_processes_answer(UpgradeOrder order)
    {
        var proxy = await StartProxyAsync();
        var predecessor = proxy.Pingora;
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= AnswersPerStep, "answers from the predecessor", predecessor);

        var successor = await UpgradeAsync(predecessor, proxy.Config, order);
        await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep, "answers from the successor", predecessor, successor);
        await AwaitPredecessorExitAsync(predecessor, proxy.Config);
        var before = load.Snapshot().Successes;
        await WaitForLoadAsync(load, s => s.Successes >= before + AnswersPerStep, "answers after the predecessor exited", predecessor, successor);
        var result = await load.StopAsync();

        AssertNoFailures(result, predecessor, successor);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.AnsweredBy(predecessor.Pid), Is.GreaterThan(0), result.Summary());
            Assert.That(result.AnsweredBy(successor.Pid), Is.GreaterThan(0), result.Summary());
            Assert.That(result.Pids.Keys, Is.EquivalentTo(new[] { predecessor.Pid, successor.Pid }), result.Summary());
            Assert.That(result.AnsweredBy("A"), Is.GreaterThan(0), "proxied requests flowed too: " + result.Summary());
        }
        AssertPidFileNames(proxy.Config, successor, "after the upgrade");
    }

    [Test]
    public async Task Three_consecutive_upgrades_under_load_drop_no_request()
    {
        var proxy = await StartProxyAsync();
        var generations = new List<PingoraProcess> { proxy.Pingora };
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(proxy.Pingora.Pid) >= AnswersPerStep, "answers from generation 0", proxy.Pingora);

        for (var generation = 1; generation <= 3; generation++)
        {
            var predecessor = generations[^1];
            // Alternate the orders: both must work from any generation.
            var order = generation % 2 == 1 ? UpgradeOrder.SuccessorFirst : UpgradeOrder.SignalFirst;
            var successor = await UpgradeAsync(predecessor, proxy.Config, order);
            generations.Add(successor);
            await WaitForLoadAsync(load, s => s.AnsweredBy(successor.Pid) >= AnswersPerStep, $"answers from generation {generation}", predecessor, successor);
            await AwaitPredecessorExitAsync(predecessor, proxy.Config);
            AssertPidFileNames(proxy.Config, successor, $"after upgrade {generation}");
        }
        var result = await load.StopAsync();

        AssertNoFailures(result, generations.ToArray());
        Assert.That(result.Pids.Keys, Is.EquivalentTo(generations.Select(g => g.Pid)),
            "every generation answered status requests: " + result.Summary());
        Assert.That(generations.Take(3).Select(g => g.ExitCode), Is.All.EqualTo(0));
        Assert.That(generations[^1].HasExited, Is.False);
    }
}
