using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

public abstract partial class PingoraTestBase
{
    /// <summary>systemd-analyze, or null when systemd's tools are not installed.</summary>
    protected static string? SystemdAnalyze =>
        new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);

    /// <summary>Runs <c>systemd-analyze verify</c> on a unit file: exit 0 and not one line about the unit (unknown
    /// keys and bad values are only warnings, with exit code 0). Every command the unit names must exist.</summary>
    protected async Task AssertUnitVerifiesAsync(string unitPath)
    {
        var analyze = SystemdAnalyze ?? throw new InvalidOperationException("systemd-analyze is not installed: check SystemdAnalyze first");
        var verify = StartProcess(analyze, ["verify", unitPath]);
        var code = await verify.WaitForExitAsync(Timeouts.Phase);
        Assert.That(code, Is.Zero, () => $"systemd-analyze verify {unitPath}\n{verify.LastLines()}");
        Assert.That(verify.Lines.Where(l => l.Text.Contains(Path.GetFileName(unitPath), StringComparison.Ordinal)).Select(l => l.Text),
            Is.Empty, $"systemd-analyze verify {unitPath} complains");
    }
}
