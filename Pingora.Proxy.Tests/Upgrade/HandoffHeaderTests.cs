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
    public void StartsWithMagicThenVersionOneAndCarriesNormalForms()
    {
        var bytes = HandoffHeader.ForCurrentProcess([ListenAddress.Parse("[0::0]:443")]).Encode();

        Assert.That(bytes[..4], Is.EqualTo("PGUP"u8.ToArray()));
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4)), Is.EqualTo(1));
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(6)), Is.EqualTo(Environment.ProcessId));
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 14, bytes.Length - 14), Is.EqualTo("[::]:443"));
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
    public void RefusesVersionTwoByName()
    {
        var bytes = new HandoffHeader(1, Addresses).Encode();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), 2);
        // A later format may change everything after the version; the refusal must not depend on the rest.
        var v2 = bytes[..6].Concat(new byte[] { 0xde, 0xad }).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(v2, 3));
        Assert.That(e!.Message, Does.Contain("version 2 is not supported").And.Contain("reads version 1"));
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
        bytes[^1] = (byte)'x'; // "1.2.3.4:8x"

        var e = Assert.Throws<InvalidDataException>(() => HandoffHeader.Decode(bytes, 1));
        Assert.That(e!.Message, Does.StartWith("handoff header address #1:"));
    }

    [Test]
    public void RejectsARepeatedAddress()
    {
        var bytes = new HandoffHeader(99, [ListenAddress.Parse("1.2.3.4:80"), ListenAddress.Parse("1.2.3.4:81")]).Encode();
        bytes[^1] = (byte)'0'; // the second becomes "1.2.3.4:80"

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
