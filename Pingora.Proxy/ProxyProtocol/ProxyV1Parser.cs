using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// Version 1: one text line, <c>PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n</c> or <c>PROXY UNKNOWN ...\r\n</c>, at most
/// 107 bytes. Single spaces, no leading or trailing ones; anything else is rejected rather than guessed at.
/// </summary>
internal static class ProxyV1Parser
{
    public const int MaxLength = 107;
    private static ReadOnlySpan<byte> Prefix => "PROXY "u8;

    public static ProxyHeaderParse Parse(ReadOnlySpan<byte> head)
    {
        var prefix = Math.Min(head.Length, Prefix.Length);
        if (!head[..prefix].SequenceEqual(Prefix[..prefix]))
            return Malformed($"not a PROXY protocol header: the connection starts with {ProxyHeaderParser.Describe(head)}");
        var window = head[..Math.Min(head.Length, MaxLength)];
        var newline = window.IndexOf((byte)'\n');
        if (newline < 0)
        {
            return head.Length >= MaxLength
                ? Malformed($"v1 header without CRLF in its first {MaxLength} bytes")
                : ProxyHeaderParse.NeedMore.Instance;
        }
        if (newline == 0 || window[newline - 1] != (byte)'\r') return Malformed("v1 header ends in LF without CR");
        var length = newline + 1;
        var line = window[Prefix.Length..(newline - 1)];
        foreach (var b in line)
        {
            if (b is < 0x20 or >= 0x7f) return Malformed($"v1 header holds the byte 0x{b:X2}");
        }
        return ParseFields(Encoding.ASCII.GetString(line), length);
    }

    private static ProxyHeaderParse ParseFields(string line, int length)
    {
        // UNKNOWN may be followed by anything (the sender's addresses are not usable); the socket's stand.
        if (line == "UNKNOWN" || line.StartsWith("UNKNOWN ", StringComparison.Ordinal))
            return new ProxyHeaderParse.Parsed(new ProxyHeader(1, Local: false, null, null), length);

        var fields = line.Split(' ');
        if (fields[0] is not ("TCP4" or "TCP6"))
            return Malformed($"v1 protocol '{Truncate(fields[0])}' is not TCP4, TCP6 or UNKNOWN");
        if (fields.Length != 5) return Malformed($"v1 {fields[0]} header has {fields.Length - 1} fields, not 4 (src dst sport dport)");
        var family = fields[0] == "TCP4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;

        if (ParseAddress(fields[1], family) is not { } source) return Malformed($"v1 source address '{Truncate(fields[1])}' is not {fields[0]}");
        if (ParseAddress(fields[2], family) is not { } destination) return Malformed($"v1 destination address '{Truncate(fields[2])}' is not {fields[0]}");
        if (ParsePort(fields[3]) is not { } sourcePort) return Malformed($"v1 source port '{Truncate(fields[3])}' is not 0-65535");
        if (ParsePort(fields[4]) is not { } destinationPort) return Malformed($"v1 destination port '{Truncate(fields[4])}' is not 0-65535");
        return new ProxyHeaderParse.Parsed(
            new ProxyHeader(1, Local: false, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort)), length);
    }

    /// <summary>IPAddress.TryParse also takes "10.1", "0x7f.1", scope ids and brackets; the spec allows none of them.</summary>
    private static IPAddress? ParseAddress(string text, AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork)
        {
            var parts = text.Split('.');
            if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit))) return null;
        }
        else if (!text.Contains(':') || !text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')) return null;
        return IPAddress.TryParse(text, out var address) && address.AddressFamily == family ? address : null;
    }

    private static int? ParsePort(string text) =>
        text.Length is > 0 and <= 5 && text.All(char.IsAsciiDigit)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : null;

    private static string Truncate(string field) => field.Length <= 40 ? field : field[..40] + "...";

    private static ProxyHeaderParse.Malformed Malformed(string reason) => new(reason);
}
