namespace Pingora.Proxy.Tests.Harness;

/// <summary>One line a process wrote, where it came from, and when the test saw it.</summary>
/// <param name="Index">Position in the process's combined capture, usable as a cursor for later waits.</param>
/// <param name="Source">"stdout", "stderr" or "log" (the error_log file).</param>
public sealed record CapturedLine(int Index, string Source, DateTimeOffset SeenAt, string Text)
{
    public override string ToString() => $"{SeenAt:HH:mm:ss.fff} {Source,-6} {Text}";
}
