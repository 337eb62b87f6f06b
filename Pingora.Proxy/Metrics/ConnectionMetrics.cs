using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Prometheus;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// <c>pingora_open_connections{listener, protocol}</c>: a connection counts from its accept, as "pending" until its
/// first request says which protocol it speaks (a TLS handshake, a PROXY header or an h2c preface come first).
/// </summary>
public static class ConnectionMetrics
{
    /// <summary>Add first on a listener, so that a connection counts through its PROXY header and TLS handshake.</summary>
    public static void UseConnectionMetrics(this ListenOptions listen, ProxyMetrics metrics, string listener) =>
        listen.Use(next => async connection =>
        {
            var counted = new CountedConnection(metrics.OpenConnections, listener);
            connection.Features.Set(counted); // requests find connection features; Items would be a dictionary per connection
            try
            {
                await next(connection);
            }
            finally
            {
                counted.Closed();
            }
        });

    /// <summary>Called for every request; moves its connection from "pending" to its protocol on the first.</summary>
    internal static void RequestStarted(HttpContext context)
    {
        context.Features.Get<CountedConnection>()?.RequestStarted(HttpProtocol.IsHttp2(context.Request.Protocol) ? "http2" : "http1");
    }

    private sealed class CountedConnection
    {
        private readonly Gauge _gauge;
        private readonly string _listener;
        private readonly object _gate = new();
        private string _protocol = "pending";
        private bool _closed;

        public CountedConnection(Gauge gauge, string listener)
        {
            _gauge = gauge;
            _listener = listener;
            gauge.WithLabels(listener, _protocol).Inc();
        }

        public void RequestStarted(string protocol)
        {
            if (ReferenceEquals(Volatile.Read(ref _protocol), protocol) || _protocol == protocol) return;
            lock (_gate)
            {
                // HTTP/2 streams start concurrently; close may race a late stream.
                if (_closed || _protocol == protocol) return;
                _gauge.WithLabels(_listener, _protocol).Dec();
                _protocol = protocol;
                _gauge.WithLabels(_listener, _protocol).Inc();
            }
        }

        public void Closed()
        {
            lock (_gate)
            {
                if (_closed) return;
                _closed = true;
                _gauge.WithLabels(_listener, _protocol).Dec();
            }
        }
    }
}
