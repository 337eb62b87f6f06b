using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Pingora.Proxy.Upgraded;

namespace Pingora.Proxy.Drain;

/// <summary>
/// One request on its way through the proxy, registered so that a drain can end it the clean way for its kind when
/// time is up (see <see cref="RequestKind"/>) rather than leave it to Kestrel's abort at the deadline, which resets
/// the connection. For HTTP/1.x it stands in for the request's lifetime feature: YARP watches RequestAborted, and a
/// token this class can cancel makes YARP stop without the connection being aborted.
/// </summary>
public sealed class InFlightRequest : IHttpRequestLifetimeFeature, IDisposable
{
    /// <summary>HTTP/2 CANCEL (RFC 9113 §7): the stream is no longer needed, it was not failed by an error.</summary>
    private const int Http2Cancel = 0x8;

    private readonly InFlightRequests _owner;
    private readonly HttpContext _context;
    private readonly IHttpRequestLifetimeFeature? _lifetime;
    private CancellationTokenSource? _stop;
    private CancellationTokenRegistration _registration;
    private ClosableWebSocketStream? _webSocket;
    private int _closed;
    private volatile bool _ended;

    private readonly TrackedConnection? _connection;

    internal InFlightRequest(InFlightRequests owner, HttpContext context, bool http2, TrackedConnection? connection)
    {
        _owner = owner;
        _context = context;
        _connection = connection;
        Kind = http2 ? RequestKind.Http2 : RequestKind.Http1;
        var features = context.Features;
        if (!http2 && features.Get<IHttpRequestLifetimeFeature>() is { } lifetime)
        {
            _lifetime = lifetime;
            features.Set<IHttpRequestLifetimeFeature>(this);
        }
        if (features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            var webSocket = context.Request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase);
            features.Set<IHttpUpgradeFeature>(new ObservedUpgradeFeature(upgrade, stream => Upgraded(stream, webSocket)));
        }
        else if (features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            var webSocket = string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
            features.Set<IHttpExtendedConnectFeature>(new ObservedExtendedConnectFeature(connect, stream => Upgraded(stream, webSocket)));
        }
        _registration = owner.Register(this, webSocket: false);
    }

    public RequestKind Kind { get; private set; }

    /// <summary>The drain ended this request at its deadline (not the client, not the upstream).</summary>
    public bool ClosedByDrain => Volatile.Read(ref _closed) != 0;

    private Stream Upgraded(Stream client, bool webSocket)
    {
        if (!webSocket)
        {
            if (Kind == RequestKind.Http1)
            {
                Kind = RequestKind.Upgraded;
                _connection?.Became(RequestKind.Upgraded);
            }
            return client;
        }
        Kind = RequestKind.WebSocket;
        // An HTTP/2 connection carries other streams beside a WebSocket: it stays an HTTP/2 connection.
        if (_lifetime is not null) _connection?.Became(RequestKind.WebSocket);
        _webSocket = new ClosableWebSocketStream(client);
        // A WebSocket may be closed before the other requests (websocket_close_after_seconds).
        var all = _registration;
        _registration = _owner.Register(this, webSocket: true);
        all.Dispose();
        return _webSocket;
    }

    /// <summary>Ends the request cleanly, once; called by the drain on a thread of its own.</summary>
    internal void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0 || _ended) return;
        _connection?.ClosedByDrain();
        try
        {
            if (_webSocket is { } webSocket)
            {
                webSocket.RequestClose();
                _ = StopIfStillOpenAsync();
                return;
            }
            Stop();
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // The request ended meanwhile.
        }
    }

    /// <summary>A peer that does not answer a close frame: the connection still ends with FIN, without the handshake.</summary>
    private async Task StopIfStillOpenAsync()
    {
        await Task.Delay(ClosableWebSocketStream.ClientCloseWait * 1.5);
        if (!_ended) Stop();
    }

    private void Stop()
    {
        if (_lifetime is null)
            _context.Features.Get<IHttpResetFeature>()?.Reset(Http2Cancel);
        else
            StopToken().Cancel();
    }

    private CancellationTokenSource StopToken()
    {
        if (Volatile.Read(ref _stop) is { } stop) return stop;
        var created = CancellationTokenSource.CreateLinkedTokenSource(_lifetime!.RequestAborted);
        var won = Interlocked.CompareExchange(ref _stop, created, null);
        if (won is null) return created;
        created.Dispose();
        return won;
    }

    CancellationToken IHttpRequestLifetimeFeature.RequestAborted
    {
        get => StopToken().Token;
        set
        {
            // A middleware that sets its own token (RequestTimeouts: the client's token linked with the timeout) must
            // reach YARP too, so the next read links the new token; a stop already requested carries over.
            _lifetime!.RequestAborted = value;
            var replaced = Interlocked.Exchange(ref _stop, null);
            if (replaced is { IsCancellationRequested: true }) StopToken().Cancel();
        }
    }

    /// <summary>
    /// YARP aborts the request when its copy stops, whatever stopped it; after a close of ours the abort is not
    /// passed on: Kestrel ends the response itself (a chunked one with its last chunk) and closes with FIN.
    /// </summary>
    void IHttpRequestLifetimeFeature.Abort()
    {
        if (Volatile.Read(ref _closed) == 0) _lifetime!.Abort();
    }

    public void Dispose()
    {
        _ended = true;
        _registration.Dispose();
        _stop?.Dispose();
    }
}
