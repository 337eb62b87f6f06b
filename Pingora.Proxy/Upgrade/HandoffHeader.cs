using System.Buffers.Binary;
using System.Text;
using Pingora.Proxy.Listeners;

namespace Pingora.Proxy.Upgrade;

/// <summary>
/// The description that travels with the handed-over listening fds: who sent them, and for each fd, in the order
/// the fds were attached, the configured address it listens on. The successor matches its configuration against
/// these addresses; an fd on its own does not say which listener it is.
/// </summary>
/// <remarks>
/// Wire format, version 2 (integers big-endian):
/// <code>
///   "PGUP"                 4 bytes, magic
///   version                u16 (= 2; 1 is read too)
///   sender pid             i32
///   count                  u16
///   count times:
///     length               u16
///     address              length bytes of UTF-8, the normal form of a ListenAddress ("0.0.0.0:80", "[::]:443")
///   generation             u32 (version 2 only) the sender's generation: 1 for a process started without -u
///   upgrades committed     u32 (version 2 only) committed upgrades in the sender's lineage, before this one
///   upgrades failed        u32 (version 2 only) failed ones
/// </code>
/// Nothing may follow. The magic and version come first and never change place, so a later format can be recognised
/// by any build and refused with a message that names both versions. Version 1 (no lineage) is still read, so that a
/// build of version 1 can be upgraded to this one; the lineage then starts over at the successor.
/// </remarks>
public sealed class HandoffHeader
{
    public const ushort CurrentVersion = 2;

    /// <summary>The oldest version this build reads: it lacks the lineage.</summary>
    public const ushort OldestReadableVersion = 1;

    /// <summary>"PGUP": Pingora upgrade.</summary>
    public static ReadOnlySpan<byte> Magic => "PGUP"u8;

    private const int FixedLength = 4 + 2 + 4 + 2;
    private const int LineageLength = 3 * 4;

    // A decoder must not quietly turn bytes that are not UTF-8 into '?' and then match them against a config.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public HandoffHeader(int senderPid, IEnumerable<ListenAddress> addresses, HandoffLineage? lineage = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (senderPid <= 0)
            throw new ArgumentOutOfRangeException(nameof(senderPid), senderPid, "a process id is positive");
        var list = addresses.ToArray();
        var problem = Validate(list);
        if (problem is not null) throw new ArgumentException(problem, nameof(addresses));
        SenderPid = senderPid;
        Addresses = Array.AsReadOnly(list);
        Lineage = lineage;
    }

    /// <summary>A header sent by this process.</summary>
    public static HandoffHeader ForCurrentProcess(IEnumerable<ListenAddress> addresses, HandoffLineage? lineage = null) =>
        new(Environment.ProcessId, addresses, lineage);

    /// <summary>The sender's generation and upgrade counts; null from a version 1 sender.</summary>
    public HandoffLineage? Lineage { get; }

    public int SenderPid { get; }

    /// <summary>The address of each fd, in the order the fds travel.</summary>
    public IReadOnlyList<ListenAddress> Addresses { get; }

    public byte[] Encode()
    {
        var encoded = Addresses.Select(a => StrictUtf8.GetBytes(a.ToString())).ToArray();
        var buffer = new byte[FixedLength + encoded.Sum(e => 2 + e.Length) + LineageLength];
        var span = buffer.AsSpan();

        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], CurrentVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[6..], SenderPid);
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], (ushort)encoded.Length);
        var offset = FixedLength;
        foreach (var address in encoded)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)address.Length);
            address.CopyTo(span[(offset + 2)..]);
            offset += 2 + address.Length;
        }
        var lineage = Lineage ?? HandoffLineage.First;
        BinaryPrimitives.WriteUInt32BigEndian(span[offset..], lineage.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(span[(offset + 4)..], lineage.UpgradesCommitted);
        BinaryPrimitives.WriteUInt32BigEndian(span[(offset + 8)..], lineage.UpgradesFailed);
        return buffer;
    }

    /// <summary>
    /// Reads a header and checks it against the fds that arrived with it.
    /// </summary>
    /// <param name="receivedFdCount">How many fds arrived with these bytes; the header must name exactly that many
    /// addresses, or the fds cannot be told apart.</param>
    /// <exception cref="InvalidDataException">Wrong magic, a version other than <see cref="CurrentVersion"/>,
    /// truncated or trailing bytes, an invalid or repeated address, or a count that differs from
    /// <paramref name="receivedFdCount"/>. The caller still owns the fds and must close them.</exception>
    public static HandoffHeader Decode(ReadOnlySpan<byte> data, int receivedFdCount)
    {
        if (data.Length < Magic.Length && Magic.StartsWith(data))
            throw Truncated(data.Length, "the end of the magic");
        if (data.Length < Magic.Length || !data[..Magic.Length].SequenceEqual(Magic))
        {
            var start = Convert.ToHexString(data[..Math.Min(data.Length, Magic.Length)]);
            throw new InvalidDataException(
                $"not an upgrade handoff header: expected magic 'PGUP' (50475550), got {(start.Length == 0 ? "no bytes" : start)}");
        }
        if (data.Length < Magic.Length + 2)
            throw Truncated(data.Length, "the version");

        var version = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        if (version is < OldestReadableVersion or > CurrentVersion)
            throw new InvalidDataException(
                $"handoff header version {version} is not supported: this build reads versions {OldestReadableVersion} to {CurrentVersion} only; " +
                "predecessor and successor must run builds that share a handoff format");

        if (data.Length < FixedLength)
            throw Truncated(data.Length, "the sender pid and address count");
        var pid = BinaryPrimitives.ReadInt32BigEndian(data[6..]);
        var count = BinaryPrimitives.ReadUInt16BigEndian(data[10..]);
        if (count != receivedFdCount)
            throw new InvalidDataException(
                $"handoff header names {count} listener address(es) but {receivedFdCount} fd(s) arrived with it");
        if (pid <= 0)
            throw new InvalidDataException($"handoff header carries an impossible sender pid {pid}");

        var addresses = new ListenAddress[count];
        var offset = FixedLength;
        for (var i = 0; i < count; i++)
        {
            if (data.Length < offset + 2)
                throw Truncated(data.Length, $"the length of address #{i + 1} of {count}");
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
            offset += 2;
            if (data.Length < offset + length)
                throw Truncated(data.Length, $"address #{i + 1} of {count} ({length} bytes at offset {offset})");

            string text;
            try
            {
                text = StrictUtf8.GetString(data.Slice(offset, length));
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException($"handoff header address #{i + 1} is not valid UTF-8");
            }
            if (!ListenAddress.TryParse(text, out var address, out var error))
                throw new InvalidDataException($"handoff header address #{i + 1}: {error}");
            addresses[i] = address;
            offset += length;
        }
        HandoffLineage? lineage = null;
        if (version >= 2)
        {
            if (data.Length < offset + LineageLength)
                throw Truncated(data.Length, "the generation and upgrade counts");
            lineage = new HandoffLineage(BinaryPrimitives.ReadUInt32BigEndian(data[offset..]),
                BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 4)..]), BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 8)..]));
            if (lineage.Generation == 0)
                throw new InvalidDataException("handoff header carries generation 0; generations count from 1");
            offset += LineageLength;
        }
        if (offset != data.Length)
            throw new InvalidDataException(
                $"handoff header has {data.Length - offset} unexpected byte(s) after its {(version >= 2 ? "upgrade counts" : $"{count} address(es)")}");

        var problem = Validate(addresses);
        if (problem is not null) throw new InvalidDataException($"handoff header: {problem}");
        return new HandoffHeader(pid, addresses, lineage);
    }

    public override string ToString() =>
        $"handoff v{CurrentVersion} from pid {SenderPid}: [{string.Join(", ", Addresses)}]{(Lineage is { } l ? $", {l}" : "")}";

    private static string? Validate(IReadOnlyList<ListenAddress> addresses)
    {
        if (addresses.Count > FdPassing.MaxFdsPerMessage)
            return $"{addresses.Count} listeners exceed the {FdPassing.MaxFdsPerMessage} fds one message can carry";
        var seen = new HashSet<ListenAddress>();
        foreach (var address in addresses)
        {
            if (address is null) return "a listener address is missing";
            // The successor finds its listeners by address: port 0 matches no configuration, and a repeated address
            // would leave it guessing which of two fds to use.
            if (address.EndPoint.Port == 0) return $"'{address}' has port 0, which no configured listener can match";
            if (!seen.Add(address)) return $"'{address}' appears twice";
        }
        return null;
    }

    private static InvalidDataException Truncated(int length, string what) =>
        new($"truncated handoff header: {length} byte(s) end before {what}");
}
