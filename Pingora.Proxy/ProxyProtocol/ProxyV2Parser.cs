using System.Buffers.Binary;
using System.Net;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// Version 2: a 12-byte signature, version and command, family and transport, a big-endian length, then the address
/// block and TLVs within that length. TLVs are skipped: nothing here needs them, and the length bounds them.
/// </summary>
internal static class ProxyV2Parser
{
    public const byte FirstSignatureByte = 0x0D;
    public const int FixedLength = 16;
    public const int UnixAddressLength = 216;
    private const int Inet4AddressLength = 12;
    private const int Inet6AddressLength = 36;
    private static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static ProxyHeaderParse Parse(ReadOnlySpan<byte> head, long available)
    {
        var signature = Math.Min(head.Length, Signature.Length);
        if (!head[..signature].SequenceEqual(Signature[..signature]))
            return Malformed($"bad v2 signature: the connection starts with {ProxyHeaderParser.Describe(head)}");
        if (head.Length < FixedLength) return ProxyHeaderParse.NeedMore.Instance;

        var version = head[12] >> 4;
        var command = head[12] & 0x0F;
        if (version != 2) return Malformed($"v2 signature with version {version}");
        if (command > 1) return Malformed($"v2 command 0x{command:X} is neither LOCAL nor PROXY");
        var family = head[13] >> 4;
        var transport = head[13] & 0x0F;
        if (family > 3) return Malformed($"v2 address family 0x{family:X} is unknown");
        if (transport > 2) return Malformed($"v2 transport 0x{transport:X} is unknown");

        var length = FixedLength + BinaryPrimitives.ReadUInt16BigEndian(head[14..16]);
        if (available < length) return ProxyHeaderParse.NeedMore.Instance;

        // LOCAL: the proxy speaks for itself (health checks); the block is ignored, family included.
        if (command == 0) return new ProxyHeaderParse.Parsed(new ProxyHeader(2, Local: true, null, null), length);

        var block = length - FixedLength;
        var needed = family switch { 1 => Inet4AddressLength, 2 => Inet6AddressLength, 3 => UnixAddressLength, _ => 0 };
        if (block < needed)
            return Malformed($"v2 {FamilyName(family)} header with {block} address bytes; the addresses need {needed}");

        // UNSPEC, UNIX and non-stream transports carry nothing a TCP client address can be: the socket's stand.
        if (family is not (1 or 2) || transport != 1)
            return new ProxyHeaderParse.Parsed(new ProxyHeader(2, Local: false, null, null), length);

        var addresses = head[FixedLength..(FixedLength + needed)];
        var size = family == 1 ? 4 : 16;
        var source = new IPAddress(addresses[..size]);
        var destination = new IPAddress(addresses[size..(2 * size)]);
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(addresses[(2 * size)..]);
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(addresses[(2 * size + 2)..]);
        return new ProxyHeaderParse.Parsed(
            new ProxyHeader(2, Local: false, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort)), length);
    }

    private static string FamilyName(int family) => family switch { 1 => "AF_INET", 2 => "AF_INET6", _ => "AF_UNIX" };

    private static ProxyHeaderParse.Malformed Malformed(string reason) => new(reason);
}
