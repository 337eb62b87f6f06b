using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pingora.Proxy.Upgraded;

/// <summary>Close frames (RFC 6455 §5.5.1) with status 1001, "going away": a server shutting down.</summary>
public static class WebSocketClose
{
    public const ushort GoingAway = 1001;

    /// <summary>As a server sends it: unmasked.</summary>
    public static byte[] ToClient(ushort status = GoingAway)
    {
        var frame = new byte[] { 0x88, 0x02, 0, 0 };
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), status);
        return frame;
    }

    /// <summary>As a client sends it, so the upstream takes it as its client's: masked with a fresh key (§5.3).</summary>
    public static byte[] ToServer(ushort status = GoingAway)
    {
        var frame = new byte[8];
        frame[0] = 0x88;
        frame[1] = 0x80 | 2;
        RandomNumberGenerator.Fill(frame.AsSpan(2, 4));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(6), status);
        frame[6] ^= frame[2];
        frame[7] ^= frame[3];
        return frame;
    }
}
