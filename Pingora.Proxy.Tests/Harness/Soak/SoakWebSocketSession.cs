using System.Net.WebSockets;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// WebSocket sessions of <see cref="SoakTraffic"/>: one message every interval, each echoed unchanged. A receive is
/// always pending, so a close frame from the proxy is seen when it arrives, not at the next message. A close 1001
/// (going away, a drain's deadline) is answered and followed by a new session: a reconnect, not an error. Any other
/// end is an error.
/// </summary>
internal static class SoakWebSocketSession
{
    private const SoakKind Kind = SoakKind.WebSocket;

    public static async Task RunAsync(SoakTraffic t, int worker)
    {
        while (!t.Stopping.IsCancellationRequested)
        {
            RawWebSocketClient client;
            using (var connect = new CancellationTokenSource(t.Options.RequestTimeout))
            {
                try
                {
                    client = await RawWebSocketClient.ConnectAsync(t.Options.Http1, "/ws", connect.Token);
                }
                catch (Exception e)
                {
                    t.Fail(Kind, e, connect.IsCancellationRequested);
                    await PauseAsync(t);
                    continue;
                }
            }
            t.Counters.Response(Kind);
            t.Counters.Session(Kind);
            using (client)
            {
                if (!await ExchangeAsync(t, client.Socket, worker)) await PauseAsync(t);
            }
        }
    }

    /// <summary>Exchanges messages until the traffic stops (closes normally) or the proxy closes; false on an error.</summary>
    private static async Task<bool> ExchangeAsync(SoakTraffic t, WebSocket socket, int worker)
    {
        var buffer = new byte[4096];
        var pending = socket.ReceiveAsync(buffer, CancellationToken.None);
        try
        {
            for (var seq = 0; ; seq++)
            {
                var tick = Task.Delay(t.Options.MessageInterval, t.Stopping);
                if (await Task.WhenAny(pending, tick) == pending)
                    return await ServerClosedAsync(t, socket, await pending, unanswered: false);
                if (t.Stopping.IsCancellationRequested)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "soak done", CancellationToken.None)
                        .WaitAsync(t.Options.RequestTimeout);
                    var end = await pending.WaitAsync(t.Options.RequestTimeout);
                    if (end.MessageType == WebSocketMessageType.Close) return true;
                    t.Counters.Failure(Kind, FailureKind.Other, $"a {end.MessageType} message instead of the close answer");
                    return false;
                }

                var text = $"soak ws {worker} message {seq}";
                await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None)
                    .WaitAsync(t.Options.RequestTimeout);
                var echo = await pending.WaitAsync(t.Options.RequestTimeout);
                if (echo.MessageType == WebSocketMessageType.Close) return await ServerClosedAsync(t, socket, echo, unanswered: true);
                var echoed = Encoding.UTF8.GetString(buffer, 0, echo.Count);
                if (!echo.EndOfMessage || echoed != text)
                {
                    t.Counters.Failure(Kind, FailureKind.WrongBody, $"'{text}' came back as '{echoed}'");
                    return false;
                }
                t.Counters.Completed(Kind);
                pending = socket.ReceiveAsync(buffer, CancellationToken.None);
            }
        }
        catch (Exception e)
        {
            t.Fail(Kind, e, e is TimeoutException);
            return false;
        }
    }

    private static async Task<bool> ServerClosedAsync(SoakTraffic t, WebSocket socket, WebSocketReceiveResult received, bool unanswered)
    {
        if (received.MessageType != WebSocketMessageType.Close)
        {
            t.Counters.Failure(Kind, FailureKind.Other, $"an unasked-for {received.MessageType} message");
            return false;
        }
        if (socket.CloseStatus != WebSocketCloseStatus.EndpointUnavailable)
        {
            t.Counters.Failure(Kind, FailureKind.Other, $"closed by the server with {socket.CloseStatus?.ToString() ?? "no status"}");
            return false;
        }
        if (unanswered) t.Counters.Unanswered(Kind);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(t.Options.RequestTimeout);
        t.Counters.Reconnect(Kind);
        return true;
    }

    private static async Task PauseAsync(SoakTraffic t)
    {
        try { await Task.Delay(t.Options.MessageInterval, t.Stopping); }
        catch (OperationCanceledException) { }
    }
}
