using System.Buffers;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// Recognises a PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) at the start of a connection.
/// Pure: it looks at bytes and says what they are; reading, deadlines and closing belong to the middleware.
/// </summary>
public static class ProxyHeaderParser
{
    /// <summary>
    /// The most this parser ever looks at: v1's 107-byte line, or v2's 16 fixed bytes and a UNIX address pair (216);
    /// v2 TLVs beyond are only counted, never copied.
    /// </summary>
    internal const int MaxExamined = ProxyV2Parser.FixedLength + ProxyV2Parser.UnixAddressLength;

    public static ProxyHeaderParse Parse(ReadOnlySpan<byte> data) => Parse(data, data.Length);

    /// <summary>The sequence form, for a PipeReader's buffer: a header split across reads spans segments.</summary>
    public static ProxyHeaderParse Parse(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment) return Parse(buffer.FirstSpan, buffer.Length);
        Span<byte> head = stackalloc byte[MaxExamined];
        var examined = (int)Math.Min(buffer.Length, MaxExamined);
        buffer.Slice(0, examined).CopyTo(head);
        return Parse(head[..examined], buffer.Length);
    }

    /// <param name="head">The first bytes of the connection (at least the first <see cref="MaxExamined"/> when
    /// that many arrived).</param>
    /// <param name="available">How many bytes arrived in all; more than <paramref name="head"/> holds when v2 TLVs
    /// follow.</param>
    private static ProxyHeaderParse Parse(ReadOnlySpan<byte> head, long available)
    {
        if (head.IsEmpty) return ProxyHeaderParse.NeedMore.Instance;
        if (head.Length > MaxExamined) head = head[..MaxExamined];
        return head[0] switch
        {
            (byte)'P' => ProxyV1Parser.Parse(head),
            ProxyV2Parser.FirstSignatureByte => ProxyV2Parser.Parse(head, available),
            _ => new ProxyHeaderParse.Malformed($"no PROXY protocol header: the connection starts with {Describe(head)}"),
        };
    }

    /// <summary>The first bytes of a rejected connection, for the log: printable ASCII as text, else hex.</summary>
    internal static string Describe(ReadOnlySpan<byte> head)
    {
        var shown = head[..Math.Min(head.Length, 16)];
        var printable = true;
        foreach (var b in shown) printable &= b is >= 0x20 and < 0x7f;
        return printable
            ? $"\"{System.Text.Encoding.ASCII.GetString(shown)}\""
            : "0x" + Convert.ToHexString(shown);
    }
}
