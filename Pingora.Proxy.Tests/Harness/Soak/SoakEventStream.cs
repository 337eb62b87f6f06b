using System.Globalization;
using System.Net.Http;
using System.Text;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Server-sent event streams of <see cref="SoakTraffic"/>, read as an EventSource reads them: every event's id must
/// follow the last one and its data must match the id. A stream that ends (its response complete, as a drain ends a
/// running HTTP/1.x response) right after an event is resumed with <c>Last-Event-ID</c>: a reconnect, not an error,
/// since no event is lost. A stream that ends inside an event, or breaks, is an error: that event is lost.
/// </summary>
internal static class SoakEventStream
{
    private const SoakKind Kind = SoakKind.ServerSentEvents;

    public static async Task RunAsync(SoakTraffic t, HttpClient client, Uri baseUri)
    {
        long? lastId = null;
        while (!t.Stopping.IsCancellationRequested)
        {
            using var session = CancellationTokenSource.CreateLinkedTokenSource(t.Stopping);
            var timedOut = false;
            session.Token.Register(() => timedOut = !t.Stopping.IsCancellationRequested);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "/sse"));
                if (lastId is { } id) request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
                session.CancelAfter(t.Options.RequestTimeout);
                using var response = await t.SendAsync(Kind, client, request, HttpCompletionOption.ResponseHeadersRead, session.Token);
                t.Counters.Response(Kind);
                if (!response.IsSuccessStatusCode)
                {
                    t.Counters.Failure(Kind, FailureKind.NonSuccessStatus, $"HTTP {(int)response.StatusCode}");
                    await Task.Delay(t.Options.MessageInterval, t.Stopping);
                    continue;
                }
                t.Counters.Session(Kind);
                await using var body = await response.Content.ReadAsStreamAsync(session.Token);
                var (ended, last) = await ReadEventsAsync(t, body, session, lastId);
                lastId = last;
                if (ended) t.Counters.Reconnect(Kind);
            }
            catch (Exception) when (t.Stopping.IsCancellationRequested)
            {
                return; // the traffic stops: the read was cancelled on purpose
            }
            catch (Exception e)
            {
                t.Fail(Kind, e, timedOut);
            }
        }
    }

    /// <summary>Reads events until the stream ends; true when it ended cleanly at an event boundary. Returns the last
    /// good event id either way.</summary>
    private static async Task<(bool CleanEnd, long? LastId)> ReadEventsAsync(SoakTraffic t, Stream body,
        CancellationTokenSource session, long? lastId)
    {
        var buffer = new byte[4096];
        var pending = new StringBuilder();
        while (true)
        {
            session.CancelAfter(t.Options.RequestTimeout); // each event within the bound, not the whole stream
            var n = await body.ReadAsync(buffer, session.Token);
            if (n == 0)
            {
                if (pending.Length == 0) return (true, lastId);
                t.Counters.Failure(Kind, FailureKind.ClosedEarly, $"the stream ended inside an event: '{pending}'");
                return (false, lastId);
            }
            pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
            int end;
            while ((end = pending.ToString().IndexOf("\n\n", StringComparison.Ordinal)) >= 0)
            {
                var text = pending.ToString(0, end);
                pending.Remove(0, end + 2);
                var expected = (lastId ?? -1) + 1;
                if (text != $"id: {expected}\ndata: event {expected}")
                {
                    t.Counters.Failure(Kind, FailureKind.WrongBody, $"event '{text}' where id {expected} was due");
                    return (false, lastId);
                }
                lastId = expected;
                t.Counters.Completed(Kind);
            }
        }
    }
}
