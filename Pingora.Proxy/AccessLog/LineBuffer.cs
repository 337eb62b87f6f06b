using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Text;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// Writes the parts of a line straight as UTF-8 bytes into a reused buffer: no string is built per line, so the
/// per-request cost is the copying and nothing for the garbage collector.
/// </summary>
internal static class LineBuffer
{
    private const string Hex = "0123456789ABCDEF";

    // What nginx writes as it is: printable ASCII but '"' and '\'.
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).Where(c => c is not '"' and not '\\').ToArray());

    /// <summary>ASCII text (the caller knows it is) as bytes, in one vectorized copy.</summary>
    public static void Ascii(this IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        System.Text.Ascii.FromUtf16(text, output.GetSpan(text.Length), out var written);
        output.Advance(written);
    }

    public static void Byte(this IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    public static void Number(this IBufferWriter<byte> output, long value)
    {
        Utf8Formatter.TryFormat(value, output.GetSpan(20), out var written);
        output.Advance(written);
    }

    /// <summary>Digits with leading zeros, for the parts of a date.</summary>
    public static void Digits(this IBufferWriter<byte> output, int value, int width)
    {
        var span = output.GetSpan(width);
        for (var i = width - 1; i >= 0; i--, value /= 10) span[i] = (byte)('0' + value % 10);
        output.Advance(width);
    }

    /// <summary>Seconds with millisecond resolution, as nginx's $request_time ("0.002").</summary>
    public static void Seconds(this IBufferWriter<byte> output, TimeSpan duration)
    {
        var ms = Math.Max(0, (long)duration.TotalMilliseconds);
        output.Number(ms / 1000);
        output.Byte((byte)'.');
        output.Digits((int)(ms % 1000), 3);
    }

    public static void Address(this IBufferWriter<byte> output, IPAddress? address)
    {
        if (address is null)
        {
            output.Byte((byte)'-');
            return;
        }
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        address.TryFormat(output.GetSpan(64), out int written);
        output.Advance(written);
    }

    /// <summary>
    /// A value as nginx writes a variable with the default escaping: '"', '\', control bytes and every byte from
    /// 0x7F up as \xHH (upper-case hex), the rest as it is; "-" for an empty or missing value.
    /// </summary>
    public static void NginxEscaped(this IBufferWriter<byte> output, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            output.Byte((byte)'-');
            return;
        }
        // Most values (paths, user agents) need no escape: one scan and one copy, not a call per byte.
        var plain = value.AsSpan().IndexOfAnyExcept(Plain);
        if (plain < 0)
        {
            output.Ascii(value);
            return;
        }
        output.Ascii(value.AsSpan(0, plain));
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = plain; i < value.Length; i++)
        {
            var c = value[i];
            if (c < 0x80)
            {
                if (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) Escape(output, (byte)c);
                else output.Byte((byte)c);
                continue;
            }
            // Beyond ASCII: the character's UTF-8 bytes, each escaped (nginx sees bytes, and escapes 0x80-0xFF).
            var length = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
                ? Encoding.UTF8.GetBytes(value.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(value.AsSpan(i, 1), utf8);
            foreach (var b in utf8[..length]) Escape(output, b);
        }
    }

    private static void Escape(IBufferWriter<byte> output, byte b)
    {
        var span = output.GetSpan(4);
        span[0] = (byte)'\\';
        span[1] = (byte)'x';
        span[2] = (byte)Hex[b >> 4];
        span[3] = (byte)Hex[b & 0xF];
        output.Advance(4);
    }
}
