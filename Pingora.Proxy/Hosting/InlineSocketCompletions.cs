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

    /// <summary>Must run before the first socket operation: the runtime reads the variable once, into a static.</summary>
    public static void EnableUnlessSet()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
            Environment.SetEnvironmentVariable(Variable, "1");
    }
}
