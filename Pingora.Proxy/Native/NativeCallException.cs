using Mono.Unix.Native;

namespace Pingora.Proxy.Native;

/// <summary>
/// A libc call in the upgrade path failed. The message names the call and the errno text; <see cref="Errno"/> lets
/// callers tell, say, a reset peer (ECONNRESET) from a programming error (EBADF) without parsing text.
/// </summary>
public sealed class NativeCallException : IOException
{
    public NativeCallException(string call, Errno errno)
        : base($"{call} failed: {Stdlib.strerror(errno)} (errno {NativeConvert.FromErrno(errno)})")
    {
        Errno = errno;
    }

    public Errno Errno { get; }
}
