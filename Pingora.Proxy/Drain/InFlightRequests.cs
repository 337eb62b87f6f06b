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
    private readonly int[] _closed = new int[Enum.GetValues<RequestKind>().Length];

    public InFlightRequest Begin(HttpContext context, bool http2) => new(this, context, http2);

    internal CancellationTokenRegistration Register(InFlightRequest request, bool webSocket) =>
        (webSocket ? _webSockets : _all).Token.UnsafeRegister(
            static state => ((InFlightRequest)state!).Close(), request);

    internal void Count(RequestKind kind) => Interlocked.Increment(ref _closed[(int)kind]);

    /// <summary>How many requests of this kind a close of the drain ended.</summary>
    public int Closed(RequestKind kind) => Volatile.Read(ref _closed[(int)kind]);

    public void CloseWebSockets() => _webSockets.Cancel();

    public void CloseAll()
    {
        _webSockets.Cancel();
        _all.Cancel();
    }
}
