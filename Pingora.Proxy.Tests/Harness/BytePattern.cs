namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// The deterministic content of /slow and /bytes bodies. The byte at offset i mixes all bytes of i, so a lost,
/// repeated or shifted block anywhere in a multi-megabyte body is detected, not only a short body.
/// </summary>
public static class BytePattern
{
    public static byte At(long offset) =>
        unchecked((byte)(offset ^ (offset >> 8) ^ (offset >> 16) ^ (offset >> 24) ^ 0x5A));

    public static void Fill(Span<byte> destination, long startOffset)
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = At(startOffset + i);
    }

    /// <summary>Offset (relative to <paramref name="data"/>) of the first byte that differs, or -1.</summary>
    public static int FirstMismatch(ReadOnlySpan<byte> data, long startOffset)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] != At(startOffset + i)) return i;
        }
        return -1;
    }
}
