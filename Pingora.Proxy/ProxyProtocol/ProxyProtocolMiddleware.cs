using System.Net;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Pingora.Proxy.ProxyProtocol;

/// <summary>
/// Kestrel connection middleware for a <c>proxy_protocol: true</c> listener: reads the PROXY header off the
/// transport before anything else (TLS included) sees a byte, makes its source the connection's remote endpoint (so
/// RemoteIpAddress, and YARP's X-Forwarded-For, name the client rather than the load balancer), and closes any
/// connection whose header is missing, malformed or too slow.
/// </summary>
internal sealed class ProxyProtocolMiddleware(ConnectionDelegate next, RejectionLog rejections, TimeSpan headerTimeout, TimeProvider time)
{
    /// <summary>
    /// How long a connection may take to send its header. Fixed: a load balancer sends it with the connection's first
    /// segment, so this only bounds what a stalled or hostile peer may hold; an HTTP client's own slowness after the
    /// header is Kestrel's limits' business.
    /// </summary>
    public static readonly TimeSpan DefaultHeaderTimeout = TimeSpan.FromSeconds(5);

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var socketPeer = connection.RemoteEndPoint;
        var outcome = await ReadHeaderAsync(connection.Transport.Input, connection.ConnectionClosed);
        if (outcome is ProxyHeaderParse.Parsed { Header: var header })
        {
            if (header.Source is { } source) connection.RemoteEndPoint = source;
            if (header.Destination is { } destination) connection.LocalEndPoint = destination;
            await next(connection);
            return;
        }
        // A peer that connects and closes without a byte (a TCP health check) sent no bad header: not logged.
        if (outcome is ProxyHeaderParse.Malformed { Reason: var reason }) rejections.Rejected(socketPeer, reason);
        // Returning closes the connection; nothing has been written to it.
    }

    /// <summary>Returns Parsed (the header consumed, what follows left in the pipe), Malformed, or NeedMore when the
    /// peer went away before sending a byte, or reset the connection.</summary>
    private async Task<ProxyHeaderParse> ReadHeaderAsync(PipeReader input, CancellationToken closed)
    {
        using var deadline = new CancellationTokenSource(headerTimeout, time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, closed);
        long received = 0;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(stop.Token);
                var buffer = read.Buffer;
                received = buffer.Length;
                var parse = ProxyHeaderParser.Parse(buffer);
                if (parse is ProxyHeaderParse.Parsed parsed)
                {
                    input.AdvanceTo(buffer.GetPosition(parsed.Length));
                    return parsed;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (parse is ProxyHeaderParse.Malformed) return parse;
                if (read.IsCompleted || read.IsCanceled)
                {
                    return received == 0
                        ? parse
                        : new ProxyHeaderParse.Malformed($"connection closed after {received} bytes of an incomplete PROXY header");
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new ProxyHeaderParse.Malformed(
                $"no complete PROXY header within {headerTimeout.TotalSeconds:0.###} s ({received} bytes received)");
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Reset, aborted by Kestrel (a drain past its deadline) or closed: the peer is gone; nothing to log.
            return ProxyHeaderParse.NeedMore.Instance;
        }
    }
}
