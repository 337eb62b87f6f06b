using NUnit.Framework;
using Pingora.Proxy.Tests.Harness;
using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.EndToEnd;

/// <summary>
/// upgrade_sock hands out listening sockets: the running instance gives them only to a successor of its own user, or
/// root. Whoever binds that path first as someone else gets nothing, and the running instance keeps serving.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeSecurityTests : PingoraTestBase
{
    private const int Nobody = 65534;

    [Test]
    public async Task A_successor_run_by_another_user_is_refused_and_the_running_instance_keeps_serving()
    {
        if (Syscall.getuid() != 0) Assert.Ignore("needs root, to start the would-be successor as user nobody");
        var proxy = await StartProxyAsync();
        var predecessor = proxy.Pingora;
        // nobody must be able to create upgrade_sock (nor unpack a single-file build's native library) in the test directory.
        File.SetUnixFileMode(TempDir, (UnixFileMode)0x3FF); // 1777, as /tmp: without the sticky bit pingora refuses it
        var load = StartMixedLoad(proxy.Listener);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= 50, "answers from the running instance", predecessor);

        // setpriv execs in place, so the tracked pid is the successor itself.
        var intruder = StartProcess("setpriv", [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--",
            RepoPaths.RequireBinary(), "-u", "-c", proxy.Config.Path],
            new Dictionary<string, string> { ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(TempDir, "extract") });
        await intruder.WaitForPhaseAsync("upgrade-wait", Timeouts.Startup);
        var cursor = predecessor.LineCount;
        predecessor.Signal(Signals.SIGQUIT);

        var failed = await predecessor.WaitForPhaseAsync("handoff-failed", Timeouts.Phase, cursor);
        Assert.That(failed.Text, Does.Contain("refused").And.Contain($"uid {Nobody}"), predecessor.LastLines());
        Assert.That(predecessor.FindPhase("handoff-sent", cursor), Is.Null, "no fd may reach the intruder\n" + predecessor.LastLines());
        Assert.That(await intruder.WaitForExitAsync(Timeouts.Phase), Is.Not.EqualTo(0), intruder.LastLines());
        Assert.That(intruder.FindPhase("upgrade-received"), Is.Null, intruder.LastLines());

        var after = load.Snapshot().AnsweredBy(predecessor.Pid);
        await WaitForLoadAsync(load, s => s.AnsweredBy(predecessor.Pid) >= after + 50, "answers after the refusal", predecessor);
        var result = await load.StopAsync();
        AssertNoFailures(result, predecessor, intruder);
        AssertPidFileNames(proxy.Config, predecessor, "after the refused handoff");
    }
}
