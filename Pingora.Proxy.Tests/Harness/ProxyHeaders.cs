using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// PROXY protocol headers as a load balancer sends them, built from the specification's layout (not by the daemon's
/// parser), for the parser's unit tests and the end-to-end tests.
/// </summary>
public static class ProxyHeaders
{
    public static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary><c>PROXY TCP4|TCP6 src dst sport dport\r\n</c>, the family taken from the source.</summary>
    public static byte[] V1(IPEndPoint source, IPEndPoint destination)
    {
        var protocol = source.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6";
        return Encoding.ASCII.GetBytes($"PROXY {protocol} {source.Address} {destination.Address} {source.Port} {destination.Port}\r\n");
    }

    public static byte[] V1(string line) => Encoding.ASCII.GetBytes(line);

    /// <summary>A v2 PROXY command over TCP (transport STREAM), with <paramref name="tlvs"/> after the addresses.</summary>
    public static byte[] V2(IPEndPoint source, IPEndPoint destination, byte[]? tlvs = null)
    {
        var v4 = source.AddressFamily == AddressFamily.InterNetwork;
        var addresses = new byte[v4 ? 12 : 36];
        var size = v4 ? 4 : 16;
        source.Address.GetAddressBytes().CopyTo(addresses, 0);
        destination.Address.GetAddressBytes().CopyTo(addresses, size);
        BinaryPrimitives.WriteUInt16BigEndian(addresses.AsSpan(2 * size), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(addresses.AsSpan(2 * size + 2), (ushort)destination.Port);
        return V2Raw(0x21, (byte)(v4 ? 0x11 : 0x21), [.. addresses, .. tlvs ?? []]);
    }

    /// <summary>Any v2 header: signature, the version/command and family/transport bytes as given, the block's length
    /// and the block.</summary>
    public static byte[] V2Raw(byte versionCommand, byte familyTransport, byte[] block, int? length = null)
    {
        var header = new byte[16 + block.Length];
        V2Signature.CopyTo(header, 0);
        header[12] = versionCommand;
        header[13] = familyTransport;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(length ?? block.Length));
        block.CopyTo(header, 16);
        return header;
    }

    /// <summary>One TLV: type, big-endian length, value.</summary>
    public static byte[] Tlv(byte type, byte[] value)
    {
        var tlv = new byte[3 + value.Length];
        tlv[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(tlv.AsSpan(1), (ushort)value.Length);
        value.CopyTo(tlv, 3);
        return tlv;
    }
}
