using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.Memory;

namespace Pingora.Proxy.Tests.Memory;

/// <summary>When the heap is trimmed: once per quiet spell that follows real work, never while busy.</summary>
[TestFixture]
public sealed class IdleMemoryTrimTests
{
    private FakeTimeProvider _time = null!;
    private long _allocated;
    private int _trims;
    private bool _draining;
    private IdleMemoryTrim _trim = null!;

    [SetUp]
    public async Task Start()
    {
        _time = new FakeTimeProvider();
        _allocated = 1_000_000;
        _trims = 0;
        _draining = false;
        _trim = new IdleMemoryTrim(_time, () => _allocated, () => _trims++, () => _draining, NullLogger.Instance);
        await _trim.StartAsync(CancellationToken.None);
    }

    [TearDown]
    public void Stop() => _trim.Dispose();

    private void Period(long allocated)
    {
        _allocated += allocated;
        _time.Advance(IdleMemoryTrim.Period);
    }

    [Test]
    public void A_quiet_period_after_work_trims_once_and_a_longer_quiet_does_not_trim_again()
    {
        Period(IdleMemoryTrim.WorkBytes); // busy
        Assert.That(_trims, Is.Zero);
        Period(0);
        Assert.That(_trims, Is.EqualTo(1));
        for (var i = 0; i < 10; i++) Period(IdleMemoryTrim.QuietBytes / 2);
        Assert.That(_trims, Is.EqualTo(1));
    }

    [Test]
    public void A_draining_process_does_not_trim_and_a_reverted_one_does_again()
    {
        Period(IdleMemoryTrim.WorkBytes);
        _draining = true; // handed over: about to exit, and its successor needs the CPU
        Period(0);
        Period(0);
        Assert.That(_trims, Is.Zero);
        _draining = false; // the upgrade reverted: this process serves on
        Period(0);
        Assert.That(_trims, Is.EqualTo(1));
    }

    [Test]
    public void Steady_traffic_is_never_interrupted()
    {
        for (var i = 0; i < 20; i++) Period(IdleMemoryTrim.QuietBytes);
        Assert.That(_trims, Is.Zero);
    }

    [Test]
    public void A_process_quiet_from_its_start_has_nothing_to_trim()
    {
        for (var i = 0; i < 20; i++) Period(1000);
        Assert.That(_trims, Is.Zero);
    }

    [Test]
    public void Work_after_a_trim_is_trimmed_at_the_next_quiet_spell()
    {
        Period(IdleMemoryTrim.WorkBytes);
        Period(0);
        Period(IdleMemoryTrim.WorkBytes);
        Assert.That(_trims, Is.EqualTo(1));
        Period(0);
        Assert.That(_trims, Is.EqualTo(2));
    }

    [Test]
    public void Light_traffic_that_adds_up_to_real_work_is_trimmed_in_a_quiet_period()
    {
        // Each period under the quiet mark, but together past the work mark: a trim, not one per period.
        var periods = (int)(IdleMemoryTrim.WorkBytes / (IdleMemoryTrim.QuietBytes / 2)) + 1;
        for (var i = 0; i < periods; i++) Period(IdleMemoryTrim.QuietBytes / 2);
        Assert.That(_trims, Is.EqualTo(1));
    }
}
