using System.Runtime.InteropServices;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>Peak resident memory of processes the tests ran, for the memory budget of hostile inputs.</summary>
public static partial class PeakMemory
{
    /// <summary>The largest peak RSS of any child this test process has waited for (getrusage(RUSAGE_CHILDREN)), in MB.</summary>
    public static double OfReapedChildrenMb()
    {
        // struct rusage: two struct timeval (16 bytes each) and then ru_maxrss (a long, in KB); 18 longs in all.
        Span<long> usage = stackalloc long[18];
        if (GetRusage(RusageChildren, ref usage[0]) != 0) throw new InvalidOperationException($"getrusage: errno {Marshal.GetLastPInvokeError()}");
        return usage[4] / 1024.0;
    }

    /// <summary>The peak RSS so far of a running process (VmHWM in /proc/PID/status), in MB.</summary>
    public static double OfProcessMb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) / 1024.0;
    }

    private const int RusageChildren = -1;

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRusage(int who, ref long usage);
}
