namespace Pingora.Proxy.Http2Drain;

/// <summary>
/// Follows the frames of one direction of an HTTP/2 connection (RFC 9113 §3.4 preface, §4.1 frame header) as they
/// pass, to know where a frame may be added to the stream: at a frame boundary, and not inside a header block
/// (HEADERS without END_HEADERS must be followed by its CONTINUATION frames and nothing else, §6.10). The client's
/// bytes start with the preface; the server's start with a frame.
/// </summary>
public sealed class Http2FrameFollower(bool clientPreface = true)
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private const int HeaderLength = 9;
    private const byte Headers = 0x1, PushPromise = 0x5, Continuation = 0x9, EndHeaders = 0x4;

    private readonly byte[] _header = new byte[HeaderLength];
    private int _prefaceSeen = clientPreface ? 0 : Preface.Length;
    private int _headerSeen;
    private long _payloadLeft;
    private bool _inHeaderBlock;

    /// <summary>Not HTTP/2 (no preface): nothing may ever be added.</summary>
    public bool NotHttp2 { get; private set; }

    public bool PrefaceSeen => !NotHttp2 && _prefaceSeen == Preface.Length;

    public bool CanInsertFrame => !NotHttp2 && _prefaceSeen == Preface.Length && _headerSeen == 0 && _payloadLeft == 0 && !_inHeaderBlock;

    public void Follow(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length && !NotHttp2)
        {
            if (_prefaceSeen < Preface.Length)
            {
                if (data[i++] != Preface[_prefaceSeen++]) NotHttp2 = true;
                continue;
            }
            if (_payloadLeft > 0)
            {
                var skip = (int)Math.Min(_payloadLeft, data.Length - i);
                i += skip;
                _payloadLeft -= skip;
                continue;
            }
            _header[_headerSeen++] = data[i++];
            if (_headerSeen < HeaderLength) continue;
            _headerSeen = 0;
            _payloadLeft = _header[0] << 16 | _header[1] << 8 | _header[2];
            var type = _header[3];
            var endHeaders = (_header[4] & EndHeaders) != 0;
            if (type is Headers or PushPromise) _inHeaderBlock = !endHeaders;
            else if (type == Continuation && endHeaders) _inHeaderBlock = false;
        }
    }
}
