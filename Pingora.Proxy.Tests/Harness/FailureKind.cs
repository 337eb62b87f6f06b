using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>How a request failed. The kinds point at different daemon faults: refused means no listener or a
/// destroyed accept queue; reset means an abortive close (SO_LINGER 0); closed-early means a connection closed
/// before the response was complete; timeout means nobody answered.</summary>
public enum FailureKind
{
    Refused,
    Reset,
    ClosedEarly,
    Timeout,
    NonSuccessStatus,
    /// <summary>HttpClient failed a request, not retried, on an HTTP/2 connection that the server closed right after a
    /// GOAWAY with NO_ERROR (HttpProtocolException, error code 0): what a server that closes an idle connection at
    /// once, without the first GOAWAY (2^31-1) and a round trip's wait of RFC 9113 §6.8, does to a request the client
    /// was just sending.</summary>
    ClosedAfterGoAway,
    /// <summary>A complete response whose body is not the one the backend sends (a checksum or pattern mismatch).</summary>
    WrongBody,
    Other,
}

public static class FailureClassifier
{
    /// <summary>Classifies an exception from HttpClient or <see cref="RawHttpClient"/>. The innermost socket error
    /// is the most precise witness, so it wins over the wrappers around it.</summary>
    /// <param name="timedOut">The request's own deadline fired (as opposed to any other cancellation).</param>
    public static FailureKind Classify(Exception exception, bool timedOut)
    {
        if (timedOut) return FailureKind.Timeout;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                switch (socket.SocketErrorCode)
                {
                    case SocketError.ConnectionRefused:
                        return FailureKind.Refused;
                    case SocketError.ConnectionReset:
                    case SocketError.ConnectionAborted:
                    case SocketError.Shutdown:
                        return FailureKind.Reset;
                    case SocketError.TimedOut:
                        return FailureKind.Timeout;
                }
            }
        }
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ClosedEarlyException:
                case HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded }:
                case HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }:
                    return FailureKind.ClosedEarly;
                case AuthenticationException { InnerException: IOException { InnerException: null } }:
                    // The TLS handshake saw EOF from the server.
                    return FailureKind.ClosedEarly;
                case TimeoutException:
                    return FailureKind.Timeout;
                case HttpProtocolException { ErrorCode: 0 }:
                    return FailureKind.ClosedAfterGoAway;
            }
        }
        return FailureKind.Other;
    }

    public static string Label(FailureKind kind) => kind switch
    {
        FailureKind.Refused => "refused",
        FailureKind.Reset => "reset",
        FailureKind.ClosedEarly => "closed-early",
        FailureKind.Timeout => "timeout",
        FailureKind.NonSuccessStatus => "non-2xx",
        FailureKind.WrongBody => "wrong-body",
        FailureKind.ClosedAfterGoAway => "closed-after-goaway",
        _ => "other",
    };
}
