namespace Pingora.Proxy.Drain;

/// <summary>What a request in flight is, as far as ending it cleanly goes; each kind ends its own way.</summary>
public enum RequestKind
{
    /// <summary>An HTTP/1.x response: YARP stops copying and Kestrel ends it (last chunk, or FIN after a short body).</summary>
    Http1,
    /// <summary>An HTTP/2 stream: RST_STREAM (CANCEL); Kestrel's GOAWAY then closes the connection once it has no stream.</summary>
    Http2,
    /// <summary>An upgraded WebSocket: close frames 1001 to both sides at frame boundaries.</summary>
    WebSocket,
    /// <summary>Any other upgraded connection (h2c, raw): nothing to say in its protocol, so FIN.</summary>
    Upgraded,
}
