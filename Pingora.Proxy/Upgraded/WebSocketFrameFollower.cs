using System.Buffers.Binary;

namespace Pingora.Proxy.Upgraded;

/// <summary>
/// Follows the frame boundaries (RFC 6455 §5.2) of one direction of a WebSocket connection as its bytes pass, without
/// holding any payload: a frame header is at most 14 bytes, and only the header says where the next frame starts. A
/// close frame may be injected only at a boundary; in the middle of a frame it would be read as payload.
/// </summary>
public sealed class WebSocketFrameFollower
{
    private const int CloseOpcode = 0x8;
    private const int MaxHeaderLength = 14; // 2 + 8 (64-bit length) + 4 (masking key)

    private readonly byte[] _header = new byte[MaxHeaderLength];
    private int _headerSeen;
    private int _headerLength;
    private long _payloadLeft;
    private bool _inPayload;
    private int _opcode;

    /// <summary>Between two frames (or before the first): the only place another frame may start.</summary>
    public bool AtBoundary => !Lost && _headerSeen == 0 && !_inPayload;

    /// <summary>A whole close frame has passed: this direction is closing on its own and carries nothing more.</summary>
    public bool SawClose { get; private set; }

    /// <summary>The bytes stopped making sense as frames (a 64-bit length with its top bit set); boundaries are unknown from here.</summary>
    public bool Lost { get; private set; }

    public long Frames { get; private set; }

    /// <summary>
    /// Follows <paramref name="data"/> and returns how many of its bytes were taken: all of them, or with
    /// <paramref name="stopAtBoundary"/> only those up to the first boundary (0 when already at one).
    /// </summary>
    public int Follow(ReadOnlySpan<byte> data, bool stopAtBoundary = false)
    {
        var i = 0;
        while (i < data.Length && !Lost)
        {
            if (stopAtBoundary && AtBoundary) return i;
            if (_inPayload)
            {
                var take = (int)Math.Min(_payloadLeft, data.Length - i);
                i += take;
                _payloadLeft -= take;
                if (_payloadLeft == 0) EndFrame();
                continue;
            }
            _header[_headerSeen++] = data[i++];
            if (_headerSeen == 2) _headerLength = HeaderLength(_header[1]);
            if (_headerSeen >= 2 && _headerSeen == _headerLength) StartPayload();
        }
        return Lost ? data.Length : i;
    }

    private static int HeaderLength(byte second)
    {
        var length = (second & 0x7F) switch { 126 => 4, 127 => 10, _ => 2 };
        return (second & 0x80) != 0 ? length + 4 : length;
    }

    private void StartPayload()
    {
        _opcode = _header[0] & 0x0F;
        var length7 = _header[1] & 0x7F;
        long length = length7 switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(2)),
            127 => BinaryPrimitives.ReadInt64BigEndian(_header.AsSpan(2)),
            _ => length7,
        };
        _headerSeen = 0;
        if (length < 0)
        {
            Lost = true;
            return;
        }
        _payloadLeft = length;
        _inPayload = length > 0;
        if (length == 0) EndFrame();
    }

    private void EndFrame()
    {
        _inPayload = false;
        Frames++;
        if (_opcode == CloseOpcode) SawClose = true;
    }
}
