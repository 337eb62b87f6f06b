namespace Pingora.Proxy.Logging;

/// <summary>
/// Test hook: PINGORA_TEST_STDERR_AT=POINT makes the process write one line to its stderr at that step, the way the
/// runtime reports a crash (outside every logger), so a test can see where a daemon's stderr goes at that moment.
/// </summary>
internal static class StderrProbe
{
    public static void WriteIfTestAsks(string point)
    {
        if (Environment.GetEnvironmentVariable("PINGORA_TEST_STDERR_AT") != point) return;
        // Console.Error writes through the runtime's own duplicate of fd 2, which is what must have followed too.
        Console.Error.WriteLine($"pingora test: stderr at {point}, pid {Environment.ProcessId}");
        Console.Error.Flush();
    }
}
