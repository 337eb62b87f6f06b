using System.Net.Sockets;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>How the server ended a TCP connection, as the client's socket saw it.</summary>
public enum TcpEnd { Fin, Reset }

public static class TcpEnds
{
    /// <summary>Reads <paramref name="stream"/> (bytes dropped) until the server ends the connection, and says how.</summary>
    public static async Task<TcpEnd> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken) > 0) { }
            return TcpEnd.Fin;
        }
        catch (IOException e) when (IsReset(e))
        {
            return TcpEnd.Reset;
        }
    }

    public static bool IsReset(Exception e) =>
        e is SocketException { SocketErrorCode: SocketError.ConnectionReset } || (e.InnerException is { } inner && IsReset(inner));
}
