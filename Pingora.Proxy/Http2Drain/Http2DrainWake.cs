using System.IO.Pipelines;
using System.Net.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Http2Drain;

/// <summary>
/// Closes a draining HTTP/2 connection as soon as its last stream is done (RFC 9113 §6.8: final GOAWAY, then FIN)
/// rather than at the deadline: from the start of the drain, each HTTP/2 connection is woken every
/// <see cref="WakeInterval"/> (see <see cref="WakeablePipeReader"/>), and Kestrel closes it at the first wake that
/// finds no stream open.
/// </summary>
public static class Http2DrainWake
{
    /// <summary>How late after its last stream a draining connection closes, at most.</summary>
    public static readonly TimeSpan WakeInterval = TimeSpan.FromMilliseconds(100);

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
            connection.Transport = new Pipe(input, transport.Output);
            using var closed = new CancellationTokenSource();
            using var draining = tracker.WhenDraining.UnsafeRegister(
                static state => _ = WakeUntilClosedAsync((Wakeup)state!), new Wakeup(input, closed.Token));
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

    private sealed record Wakeup(WakeablePipeReader Input, CancellationToken Closed);

    private static async Task WakeUntilClosedAsync(Wakeup wakeup)
    {
        try
        {
            while (wakeup.Input.IsHttp2 && !wakeup.Closed.IsCancellationRequested)
            {
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
