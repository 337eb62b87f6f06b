using System.Diagnostics;
using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

/// <summary>
/// Every hostile configuration of <see cref="HostileCorpus"/> through <see cref="ConfigLoader.Load"/>: no exception,
/// the expected located diagnostic, no more than the capped number of lines, and quickly.
/// </summary>
[TestFixture]
public class HostileConfigTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);
    private string _directory = null!;

    [OneTimeSetUp]
    public void CreateDirectory() =>
        _directory = Directory.CreateTempSubdirectory("pingora-hostile-").FullName;

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static IEnumerable<HostileCase> Cases() => HostileCorpus.All();

    [TestCaseSource(nameof(Cases))]
    public void Load_reports_a_located_reason_and_never_throws(HostileCase hostile)
    {
        var path = Path.Combine(_directory, hostile.Name + ".yaml");
        hostile.Create(path, HostileCorpus.Listener);

        var clock = Stopwatch.StartNew();
        var result = ConfigLoader.Load(path);
        clock.Stop();

        var all = string.Join("\n", result.Errors.Concat(result.Warnings).Take(10));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(clock.Elapsed, Is.LessThan(Budget), "bounded time");
            Assert.That(result.Errors.Count, Is.LessThanOrEqualTo(DiagnosticBag.MaxReported + 1), "capped errors");
            Assert.That(result.Warnings.Count, Is.LessThanOrEqualTo(DiagnosticBag.MaxReported + 1), "capped warnings");
            Assert.That(result.Errors.Select(e => e.Message), Has.None.Contains(ConfigLoader.InternalErrorMarker), all);
            foreach (var error in result.Errors)
            {
                // Line 0 is kept for a file that could not be read at all: the file is the location.
                Assert.That(error.Line > 0 || error.Message.StartsWith("cannot read the configuration file: "), Is.True,
                    $"located: {error}");
                Assert.That(error.File, Is.EqualTo(path));
            }
            if (hostile.Expect.Valid)
                Assert.That(result.Ok, Is.True, all);
            else
            {
                Assert.That(result.Ok, Is.False, "refused");
                Assert.That(result.Errors.Any(e => hostile.Expect.Matches(e.Line, e.Column, e.Key, e.Message)), Is.True,
                    $"expected {hostile.Expect}, got:\n{all}");
            }
        }
    }

    [Test]
    public void A_flood_of_unknown_keys_prints_the_first_ones_and_a_count()
    {
        var yaml = HostileCorpus.Listener + string.Concat(Enumerable.Range(0, 1_000).Select(i => $"k{i}: 1\n"));
        var result = ConfigLoader.Parse(yaml, "flood.yaml");
        Assert.That(result.Ok, Is.True);
        Assert.That(result.Warnings, Has.Count.EqualTo(DiagnosticBag.MaxReported + 1));
        Assert.That(result.Warnings[0].ToString(), Is.EqualTo("flood.yaml:3:1: k0: unknown key 'k0'"));
        Assert.That(result.Warnings[^1].Message, Is.EqualTo($"and {1_000 - DiagnosticBag.MaxReported} more warnings after this line, not shown"));
    }
}
