using System.Buffers;
using System.Net;
using System.Text;
using NUnit.Framework;
using Pingora.Proxy.ProxyProtocol;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.ProxyProtocol;

public class ProxyHeaderParserTests
{
    private static readonly IPEndPoint Client4 = IPEndPoint.Parse("192.0.2.10:56324");
    private static readonly IPEndPoint Server4 = IPEndPoint.Parse("198.51.100.2:443");
    private static readonly IPEndPoint Client6 = IPEndPoint.Parse("[2001:db8::10]:40000");
    private static readonly IPEndPoint Server6 = IPEndPoint.Parse("[2001:db8:ffff::1]:8443");
    private static readonly byte[] Http = "GET / HTTP/1.1\r\n"u8.ToArray();

    [Test]
    public void V1_TCP4_gives_every_field_and_the_length_of_the_line_only()
    {
        var header = ProxyHeaders.V1("PROXY TCP4 192.0.2.10 198.51.100.2 56324 443\r\n");

        var parsed = ParsedOf([.. header, .. Http]);

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(1, false, Client4, Server4)));
        Assert.That(parsed.Length, Is.EqualTo(header.Length), "the HTTP request after the line is not part of it");
    }

    [Test]
    public void V1_TCP6_gives_both_IPv6_endpoints()
    {
        var parsed = ParsedOf(ProxyHeaders.V1("PROXY TCP6 2001:db8::10 2001:db8:ffff::1 40000 8443\r\n"));

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(1, false, Client6, Server6)));
    }

    [TestCase("PROXY UNKNOWN\r\n")]
    [TestCase("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n")]
    public void V1_UNKNOWN_is_valid_and_carries_no_address(string line)
    {
        var parsed = ParsedOf(ProxyHeaders.V1(line));

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(1, false, null, null)));
        Assert.That(parsed.Length, Is.EqualTo(line.Length));
    }

    [Test]
    public void V1_of_the_longest_allowed_length_is_accepted_and_one_byte_more_is_not()
    {
        var longest = "PROXY UNKNOWN " + new string('x', 107 - 16) + "\r\n";
        Assert.That(longest, Has.Length.EqualTo(107));
        Assert.That(ParsedOf(ProxyHeaders.V1(longest)).Length, Is.EqualTo(107));

        var tooLong = "PROXY UNKNOWN " + new string('x', 107 - 15) + "\r\n";
        Assert.That(MalformedOf(ProxyHeaders.V1(tooLong)), Does.Contain("107"));
        Assert.That(MalformedOf(ProxyHeaders.V1("PROXY TCP4 " + new string('1', 200))), Does.Contain("107"),
            "no CRLF at all: rejected at 107 bytes, not waited on");
    }

    [Test]
    public void Every_prefix_of_a_valid_header_needs_more()
    {
        byte[][] headers =
        [
            ProxyHeaders.V1(Client4, Server4), ProxyHeaders.V1(Client6, Server6),
            ProxyHeaders.V2(Client4, Server4), ProxyHeaders.V2(Client6, Server6, ProxyHeaders.Tlv(0x04, new byte[300])),
        ];
        foreach (var header in headers)
        {
            for (var length = 0; length < header.Length; length++)
            {
                Assert.That(ProxyHeaderParser.Parse(header.AsSpan(0, length)), Is.InstanceOf<ProxyHeaderParse.NeedMore>(),
                    $"{length} of {header.Length} bytes of {Convert.ToHexString(header[..Math.Min(header.Length, 20)])}...");
            }
            Assert.That(ProxyHeaderParser.Parse(header), Is.InstanceOf<ProxyHeaderParse.Parsed>());
        }
    }

    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 56324 443\n", "LF without CR")]
    [TestCase("PROXY TCP5 192.0.2.10 198.51.100.2 56324 443\r\n", "TCP5")]
    [TestCase("PROXY tcp4 192.0.2.10 198.51.100.2 56324 443\r\n", "tcp4")]
    [TestCase("PROXY TCP4 2001:db8::10 198.51.100.2 56324 443\r\n", "source address")]
    [TestCase("PROXY TCP6 192.0.2.10 2001:db8::1 56324 443\r\n", "source address")]
    [TestCase("PROXY TCP4 192.0.2.10 10.1 56324 443\r\n", "destination address")]
    [TestCase("PROXY TCP4 192.0.2.10 0x7f.0.0.1 56324 443\r\n", "destination address")]
    [TestCase("PROXY TCP6 2001:db8::10%eth0 2001:db8::1 56324 443\r\n", "source address")]
    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 65536 443\r\n", "source port")]
    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 -1 443\r\n", "source port")]
    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 56324 +443\r\n", "destination port")]
    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 56324\r\n", "3 fields")]
    [TestCase("PROXY TCP4 192.0.2.10  198.51.100.2 56324 443\r\n", "5 fields")]
    [TestCase("PROXY TCP4 192.0.2.10 198.51.100.2 56324 443 \r\n", "5 fields")]
    [TestCase("PROXY \r\n", "''")]
    [TestCase("PROXY TCP4 192.0.2.10\t198.51.100.2 56324 443\r\n", "0x09")]
    [TestCase("PROXYTCP4 192.0.2.10 198.51.100.2 56324 443\r\n", "not a PROXY protocol header")]
    public void V1_malformed_is_rejected_with_its_reason(string line, string reason)
    {
        Assert.That(MalformedOf(ProxyHeaders.V1(line)), Does.Contain(reason));
    }

    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [TestCase("\x16\x03\x01\x02\x00\x01\x00\x01")]
    [TestCase("PRI * HTTP/2.0\r\n")]
    [TestCase("P")]
    public void Garbage_is_rejected_from_its_first_bytes(string start)
    {
        var data = Encoding.Latin1.GetBytes(start);
        if (data.Length == 1) data = [(byte)'P', (byte)'O']; // "PO" can no longer become "PROXY "
        Assert.That(MalformedOf(data), Does.Contain("PROXY protocol header"));
    }

    [Test]
    public void V2_TCP_over_IPv4_gives_every_field()
    {
        var header = ProxyHeaders.V2(Client4, Server4);

        var parsed = ParsedOf([.. header, .. Http]);

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(2, false, Client4, Server4)));
        Assert.That(parsed.Length, Is.EqualTo(16 + 12));
    }

    [Test]
    public void V2_TCP_over_IPv6_gives_every_field()
    {
        var parsed = ParsedOf(ProxyHeaders.V2(Client6, Server6));

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(2, false, Client6, Server6)));
        Assert.That(parsed.Length, Is.EqualTo(16 + 36));
    }

    [Test]
    public void V2_TLVs_are_skipped_within_the_length()
    {
        var tlvs = ProxyHeaders.Tlv(0x01, "h2"u8.ToArray()).Concat(ProxyHeaders.Tlv(0xEA, new byte[2000])).ToArray();
        var header = ProxyHeaders.V2(Client4, Server4, tlvs);

        var parsed = ParsedOf([.. header, .. Http]);

        Assert.That(parsed.Header.Source, Is.EqualTo(Client4));
        Assert.That(parsed.Length, Is.EqualTo(16 + 12 + tlvs.Length));
    }

    [Test]
    public void V2_LOCAL_keeps_the_socket_address_whatever_the_block_holds()
    {
        var parsed = ParsedOf(ProxyHeaders.V2Raw(0x20, 0x11, new byte[12]));
        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(2, true, null, null)));

        var empty = ParsedOf(ProxyHeaders.V2Raw(0x20, 0x00, []));
        Assert.That(empty.Header, Is.EqualTo(new ProxyHeader(2, true, null, null)));
        Assert.That(empty.Length, Is.EqualTo(16));
    }

    [TestCase((byte)0x00, 0, TestName = "V2 PROXY UNSPEC keeps the socket address")]
    [TestCase((byte)0x31, 216, TestName = "V2 PROXY UNIX stream keeps the socket address")]
    [TestCase((byte)0x12, 12, TestName = "V2 PROXY IPv4 datagram keeps the socket address")]
    public void V2_without_a_TCP_address_keeps_the_socket_address(byte familyTransport, int blockLength)
    {
        var parsed = ParsedOf(ProxyHeaders.V2Raw(0x21, familyTransport, new byte[blockLength]));

        Assert.That(parsed.Header, Is.EqualTo(new ProxyHeader(2, false, null, null)));
        Assert.That(parsed.Length, Is.EqualTo(16 + blockLength));
    }

    [TestCase(0)]
    [TestCase(4)]
    [TestCase(11)]
    public void V2_bad_signature_is_rejected_at_any_byte(int position)
    {
        var header = ProxyHeaders.V2(Client4, Server4);
        header[position] ^= 0x40;

        Assert.That(MalformedOf(header), Does.Contain(position == 0 ? "PROXY protocol header" : "bad v2 signature"));
    }

    [TestCase((byte)0x11, (byte)0x11, "version 1")]
    [TestCase((byte)0x31, (byte)0x11, "version 3")]
    [TestCase((byte)0x22, (byte)0x11, "command 0x2")]
    [TestCase((byte)0x21, (byte)0x41, "family 0x4")]
    [TestCase((byte)0x21, (byte)0x13, "transport 0x3")]
    public void V2_unknown_version_command_family_or_transport_is_rejected(byte versionCommand, byte familyTransport, string reason)
    {
        Assert.That(MalformedOf(ProxyHeaders.V2Raw(versionCommand, familyTransport, new byte[12])), Does.Contain(reason));
    }

    [TestCase((byte)0x11, 11, "12")]
    [TestCase((byte)0x21, 35, "36")]
    [TestCase((byte)0x31, 100, "216")]
    public void V2_length_shorter_than_its_addresses_is_rejected(byte familyTransport, int blockLength, string needed)
    {
        Assert.That(MalformedOf(ProxyHeaders.V2Raw(0x21, familyTransport, new byte[blockLength])), Does.Contain(needed));
    }

    [Test]
    public void V2_length_beyond_what_arrived_waits_however_large()
    {
        // 65535 announced bytes: the most the protocol can say; only that many are ever waited for.
        var header = ProxyHeaders.V2Raw(0x21, 0x11, new byte[100], length: 65535);

        Assert.That(ProxyHeaderParser.Parse(header), Is.InstanceOf<ProxyHeaderParse.NeedMore>());
    }

    [Test]
    public void A_header_split_across_segments_parses_as_one()
    {
        var tlvs = ProxyHeaders.Tlv(0x04, new byte[500]);
        byte[][] inputs = [ProxyHeaders.V1(Client6, Server6), ProxyHeaders.V2(Client6, Server6, tlvs)];
        foreach (var input in inputs)
        {
            var whole = (ProxyHeaderParse.Parsed)ProxyHeaderParser.Parse([.. input, .. Http]);
            for (var cut = 1; cut < input.Length; cut += 7)
            {
                var split = ProxyHeaderParser.Parse(Segments(input[..cut], [.. input[cut..], .. Http]));
                Assert.That(split, Is.EqualTo(whole), $"cut at {cut}");
            }
        }
    }

    private static ProxyHeaderParse.Parsed ParsedOf(byte[] data)
    {
        var parse = ProxyHeaderParser.Parse(data);
        Assert.That(parse, Is.InstanceOf<ProxyHeaderParse.Parsed>(), () => parse.ToString());
        return (ProxyHeaderParse.Parsed)parse;
    }

    private static string MalformedOf(byte[] data)
    {
        var parse = ProxyHeaderParser.Parse(data);
        Assert.That(parse, Is.InstanceOf<ProxyHeaderParse.Malformed>(), () => parse.ToString());
        return ((ProxyHeaderParse.Malformed)parse).Reason;
    }

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var start = new Segment(first, 0);
        var end = start.Append(second);
        return new ReadOnlySequence<byte>(start, 0, end, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
