using Microsoft.AspNetCore.Http;

namespace Pingora.Proxy.Drain;

/// <summary>
/// The requests in flight, for the drain to end cleanly when its time is up: WebSockets first if the operator asked
/// for an earlier close, then everything at the deadline. Each request registers on a cancellation token (the
/// runtime keeps the list), so a request costs no lock here, and closing them all is one Cancel.
/// </summary>
public sealed class InFlightRequests
{
    private readonly CancellationTokenSource _all = new();
    private readonly CancellationTokenSource _webSockets = new();

    public InFlightRequest Begin(HttpContext context, bool http2, TrackedConnection? connection) => new(this, context, http2, connection);

    internal CancellationTokenRegistration Register(InFlightRequest request, bool webSocket) =>
        (webSocket ? _webSockets : _all).Token.UnsafeRegister(
            static state => ((InFlightRequest)state!).Close(), request);

    public void CloseWebSockets() => _webSockets.Cancel();

    public void CloseAll()
    {
        _webSockets.Cancel();
        _all.Cancel();
    }
}
