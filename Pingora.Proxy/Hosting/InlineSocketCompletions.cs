namespace Pingora.Proxy.Hosting;

/// <summary>
/// Lets the runtime run socket completions on its epoll threads instead of queueing each one to the thread pool.
/// A proxy completes four socket operations per request (client read, upstream write, upstream read, client write);
/// on a small machine the queueing, not the work, was what the profile showed (most samples in the scheduler).
/// Kestrel still hands request processing to the thread pool (its UnsafePreferInlineScheduling stays off), so what
/// runs inline is the socket layer and HttpClient's continuations into YARP's copy loops, none of which blocks.
/// </summary>
public static class InlineSocketCompletions
{
    /// <summary>The runtime's switch; an operator who sets it (to 0 or 1) decides.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>How many epoll threads the runtime runs; an operator who sets it decides.</summary>
    public const string ThreadCountVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>Must run before the first socket operation: the runtime reads both variables once, into statics.</summary>
    public static void EnableUnlessSet()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
            Environment.SetEnvironmentVariable(Variable, "1");
        if (Environment.GetEnvironmentVariable(Variable) == "1" && Environment.GetEnvironmentVariable(ThreadCountVariable) is null)
            Environment.SetEnvironmentVariable(ThreadCountVariable, EpollThreads(Environment.ProcessorCount).ToString());
    }

    /// <summary>
    /// One epoll thread per two CPUs. With inline completions the runtime's default is one per CPU, so that they are
    /// never the bottleneck; but they share the CPUs with the thread pool, which runs Kestrel's half of each request,
    /// and on 2 CPUs one thread instead of two took 1-16% less CPU per request and served 3-10% more requests/s
    /// (README, "Performance").
    /// </summary>
    public static int EpollThreads(int processors) => Math.Max(1, processors / 2);
}
