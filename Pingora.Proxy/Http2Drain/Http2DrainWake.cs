using System.IO.Pipelines;
using System.Net.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Http2Drain;

/// <summary>
/// Ends a draining HTTP/2 connection as RFC 9113 §6.8 asks: at the start of the drain a GOAWAY with the highest stream
/// id tells the client to open no more streams on it (<see cref="ShutdownNoticeWriter"/>), and the drain lets at least
/// <see cref="NoticeLead"/> pass before Kestrel's stop sends the final GOAWAY. Then the connection closes as soon as
/// its last stream is done rather than at the deadline: each HTTP/2 connection is woken every
/// <see cref="WakeInterval"/> (see <see cref="WakeablePipeReader"/>), and Kestrel closes it at the first wake that
/// finds no stream open.
/// </summary>
public static class Http2DrainWake
{
    /// <summary>How late after its last stream a draining connection closes, at most.</summary>
    public static readonly TimeSpan WakeInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The least time between the first GOAWAY and the final one: a round trip, with room to spare for a
    /// client across the world (RFC 9113 §6.8 asks for at least one). Envoy's default is 5 s; the drain's own
    /// settling (idle_timeout) usually takes longer anyway.</summary>
    public static readonly TimeSpan NoticeLead = TimeSpan.FromSeconds(1);

    /// <summary>Add after UseHttps: the frames are added to the decrypted bytes.</summary>
    public static void UseHttp2DrainWake(this ListenOptions listen, ConnectionTracker tracker) =>
        listen.Use(next => async connection =>
        {
            var alpn = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol;
            if (alpn is { } protocol && !protocol.Span.SequenceEqual(SslApplicationProtocol.Http2.Protocol.Span))
            {
                await next(connection);
                return;
            }
            var transport = connection.Transport;
            var input = new WakeablePipeReader(transport.Input);
            var output = new ShutdownNoticeWriter(transport.Output);
            connection.Transport = new Pipe(input, output);
            using var closed = new CancellationTokenSource();
            using var draining = tracker.WhenDraining.UnsafeRegister(
                static state => _ = WakeUntilClosedAsync((Wakeup)state!), new Wakeup(tracker, input, output, closed.Token));
            try
            {
                await next(connection);
            }
            finally
            {
                closed.Cancel();
                connection.Transport = transport;
            }
        });

    private sealed record Wakeup(ConnectionTracker Tracker, WakeablePipeReader Input, ShutdownNoticeWriter Output, CancellationToken Closed);

    private static async Task WakeUntilClosedAsync(Wakeup wakeup)
    {
        var noticed = false;
        try
        {
            // Until the connection is gone, or the drain is called off (a reverted upgrade: this process serves on).
            while (wakeup.Input.IsHttp2 && !wakeup.Closed.IsCancellationRequested && wakeup.Tracker.Draining)
            {
                // Once the client's preface is in (before it the server's SETTINGS may not have gone out either): at
                // once for most, at a later wake for one accepted as the drain began (a TLS handshake takes a while),
                // whose client is about to send its first requests.
                if (!noticed && wakeup.Input.PrefaceSeen)
                {
                    wakeup.Output.SendShutdownNotice();
                    wakeup.Tracker.ShutdownNoticeSent();
                    noticed = true;
                }
                wakeup.Input.Wake();
                await Task.Delay(WakeInterval, wakeup.Closed);
            }
        }
        catch (OperationCanceledException)
        {
            // The connection is gone.
        }
    }

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
