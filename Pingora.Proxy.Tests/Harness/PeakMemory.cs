namespace Pingora.Proxy.Tests.Harness;

/// <summary>Peak resident memory of processes the tests ran, for the memory budget of hostile inputs.</summary>
public static class PeakMemory
{
    /// <summary>GNU time runs the measured program and reports its peak RSS from wait4(2) on its own child.
    /// getrusage(RUSAGE_CHILDREN) in the test process cannot: a child forked from it starts with the test host's
    /// pages, and the kernel keeps that pre-exec peak, so every child looked as large as the test host (400 MB and
    /// more late in the suite).</summary>
    public const string TimeProgram = "/usr/bin/time";

    /// <summary>The arguments that run <paramref name="command"/> under GNU time, writing its peak RSS to
    /// <paramref name="reportFile"/> (read it with <see cref="ReadTimeReportMb"/>).</summary>
    public static string[] UnderTime(string reportFile, params string[] command) => ["-f", "%M", "-o", reportFile, .. command];

    /// <summary>The peak RSS GNU time wrote (KB on its last line), in MB.</summary>
    public static double ReadTimeReportMb(string reportFile) =>
        long.Parse(File.ReadLines(reportFile).Last(l => l.Length > 0).Trim()) / 1024.0;

    /// <summary>The peak RSS so far of a running process (VmHWM in /proc/PID/status), in MB.</summary>
    public static double OfProcessMb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) / 1024.0;
    }

}
