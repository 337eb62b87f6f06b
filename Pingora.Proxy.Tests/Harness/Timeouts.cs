namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Upper bounds for the tests' waits. They are bounds, not delays: every wait returns as soon as its event happens.
/// They are generous because the test machine has two cores and a .NET process start competes with load generators.
/// </summary>
public static class Timeouts
{
    /// <summary>Process start until it logs phase=serving (or, for -t, exits).</summary>
    public static readonly TimeSpan Startup = TimeSpan.FromSeconds(30);

    /// <summary>A lifecycle step that does not depend on a configured timeout (signal handled, phase logged).</summary>
    public static readonly TimeSpan Phase = TimeSpan.FromSeconds(15);

    /// <summary>One HTTP request that is expected to succeed quickly.</summary>
    public static readonly TimeSpan Request = TimeSpan.FromSeconds(15);

    /// <summary>Kill and reap of a process in teardown.</summary>
    public static readonly TimeSpan Reap = TimeSpan.FromSeconds(10);

    /// <summary>A configured daemon timeout plus slack for scheduling on a loaded two-core machine.</summary>
    public static TimeSpan AfterConfigured(double seconds, double slackSeconds = 10) =>
        TimeSpan.FromSeconds(seconds + slackSeconds);
}
