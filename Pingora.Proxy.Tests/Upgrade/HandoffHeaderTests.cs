using System.Buffers.Binary;
using NUnit.Framework;
using Pingora.Proxy.Listeners;
using Pingora.Proxy.Upgrade;

namespace Pingora.Proxy.Tests.Upgrade;

public class HandoffHeaderTests
{
    private static readonly ListenAddress[] Addresses =
    [
        ListenAddress.Parse("0.0.0.0:80"),
        ListenAddress.Parse("[::]:443"),
        ListenAddress.Parse("127.0.0.1:8080"),
    ];

    [Test]
    public void RoundTripKeepsPidAndAddressesInOrder()
    {
        var header = new HandoffHeader(4242, Addresses);

        var decoded = HandoffHeader.Decode(header.Encode(), receivedFdCount: 3);

        Assert.That(decoded.SenderPid, Is.EqualTo(4242));
        Assert.That(decoded.Addresses, Is.EqualTo(Addresses));
    }

    [Test]
    public void RoundTripOfAnEmptyHeader()
    {
        var decoded = HandoffHeader.Decode(new HandoffHeader(7, []).Encode(), receivedFdCount: 0);

        Assert.That(decoded.SenderPid, Is.EqualTo(7));
        Assert.That(decoded.Addresses, Is.Empty);
    }

    [Test]
    public void StartsWithMagicThenVersionTwoAndCarriesNormalFormsThenTheLineage()
    {
        var bytes = HandoffHeader.ForCurrentProcess([ListenAddress.Parse("[0::0]:443")], new HandoffLineage(3, 2, 1)).Encode();

        Assert.That(bytes[..4], Is.EqualTo("PGUP"u8.ToArray()));
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4)), Is.EqualTo(2));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(6)), Is.EqualTo(Environment.ProcessId));
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 14, bytes.Length - 14 - LineageBytes), Is.EqualTo("[::]:443"));
        Assert.That(Enumerable.Range(0, 3).Select(i => BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(bytes.Length - LineageBytes + 4 * i))),
            Is.EqualTo(new uint[] { 3, 2, 1 }));
    }

    private const int LineageBytes = 12;

    [Test]
    public void RoundTripKeepsTheLineage()
    {
        var decoded = HandoffHeader.Decode(new HandoffHeader(5, Addresses, new HandoffLineage(7, 6, 2)).Encode(), 3);

        Assert.That(decoded.Lineage, Is.EqualTo(new HandoffLineage(7, 6, 2)));
    }

    [Test]
    public void ASenderWithoutLineageSendsTheFirstGeneration()
    {
        var decoded = HandoffHeader.Decode(new HandoffHeader(5, Addresses).Encode(), 3);

        Assert.That(decoded.Lineage, Is.EqualTo(HandoffLineage.First));
    }

    /// <summary>A version 1 predecessor (a build before the lineage) can still be upgraded from.</summary>
    [Test]
    public void ReadsVersionOneWithoutLineage()
    {
        var v2 = new HandoffHeader(5, Addresses, new HandoffLineage(7, 6, 2)).Encode();
        var v1 = v2[..^LineageBytes];
        BinaryPrimitives.WriteUInt16BigEndian(v1.AsSpan(4), 1);

        var decoded = HandoffHeader.Decode(v1, 3);

        Assert.That(decoded.Addresses, Is.EqualTo(Addresses));
        Assert.That(decoded.Lineage, Is.Null);
    }

    [Test]
    public void RejectsGenerationZero()
    {
        var bytes = new HandoffHeader(5, Addresses, new HandoffLineage(1, 0, 0)).Encode();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(bytes.Length - LineageBytes), 0);

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 3));
        Assert.That(e!.Message, Does.Contain("generation 0"));
    }

    [Test]
    public void RejectsWrongMagic()
    {
        var bytes = new HandoffHeader(1, Addresses).Encode();
        bytes[0] = (byte)'X';

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 3));
        Assert.That(e!.Message, Does.Contain("magic").And.Contain("58475550"));
    }

    [Test]
    public void RefusesVersionThreeByName()
    {
        var bytes = new HandoffHeader(1, Addresses).Encode();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), 3);
        // A later format may change everything after the version; the refusal must not depend on the rest.
        var v3 = bytes[..6].Concat(new byte[] { 0xde, 0xad }).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(v3, 3));
        Assert.That(e!.Message, Does.Contain("version 3 is not supported").And.Contain("reads versions 1 to 2"));
    }

    [Test]
    public void RejectsEveryTruncation()
    {
        var bytes = new HandoffHeader(99, Addresses).Encode();

        for (var length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes.AsSpan(0, length), 3),
                $"a header cut to {length} of {bytes.Length} bytes");
            Assert.That(e!.Message, Does.StartWith("truncated handoff header"), $"cut to {length} bytes");
        }
    }

    [Test]
    public void RejectsACountThatDiffersFromTheFdsReceived()
    {
        var bytes = new HandoffHeader(99, Addresses).Encode();

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, receivedFdCount: 2));
        Assert.That(e!.Message, Is.EqualTo("handoff header names 3 listener address(es) but 2 fd(s) arrived with it"));
    }

    [Test]
    public void RejectsTrailingBytes()
    {
        var bytes = new HandoffHeader(99, Addresses).Encode().Append((byte)0).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 3));
        Assert.That(e!.Message, Does.Contain("1 unexpected byte(s)"));
    }

    [Test]
    public void RejectsAnAddressThatDoesNotParse()
    {
        var bytes = new HandoffHeader(99, [ListenAddress.Parse("1.2.3.4:80")]).Encode();
        bytes[^(LineageBytes + 1)] = (byte)'x'; // "1.2.3.4:8x"

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 1));
        Assert.That(e!.Message, Does.StartWith("handoff header address #1:"));
    }

    [Test]
    public void RejectsARepeatedAddress()
    {
        var bytes = new HandoffHeader(99, [ListenAddress.Parse("1.2.3.4:80"), ListenAddress.Parse("1.2.3.4:81")]).Encode();
        bytes[^(LineageBytes + 1)] = (byte)'0'; // the second becomes "1.2.3.4:80"

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 2));
        Assert.That(e!.Message, Does.Contain("'1.2.3.4:80' appears twice"));
    }

    [Test]
    public void ConstructorRefusesWhatCouldNotBeMatchedToAListener()
    {
        Assert.Throws<ArgumentException>(() =>
            new HandoffHeader(1, [new ListenAddress(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0))]));
        Assert.Throws<ArgumentException>(() =>
            new HandoffHeader(1, [ListenAddress.Parse("[::1]:80"), ListenAddress.Parse("[0::1]:80")]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HandoffHeader(0, Addresses));
    }
}
