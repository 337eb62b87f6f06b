using System.Collections.Frozen;
using System.Diagnostics.Metrics;

namespace Pingora.Proxy.Metrics;

/// <summary>
/// .NET's own instruments that record on every request (hosting, routing, HttpClient's requests). prometheus-net's
/// meter adapter turns every measurement's tags into labels and finds the series again (360 bytes per request
/// measured with bench/metrics-cost.sh), and they repeat what ours count (<c>pingora_requests_total</c>, the request
/// and upstream duration histograms), so they are exported only with <c>admin_request_meters: true</c>. The
/// per-connection and observed instruments (Kestrel's connections, HttpClient's pool, the runtime) always are.
/// </summary>
internal static class FrameworkMeters
{
    private static readonly FrozenSet<string> PerRequest = new[]
    {
        "Microsoft.AspNetCore.Hosting/http.server.request.duration",
        "Microsoft.AspNetCore.Hosting/http.server.active_requests",
        "Microsoft.AspNetCore.Routing/aspnetcore.routing.match_attempts",
        "System.Net.Http/http.client.request.duration",
        "System.Net.Http/http.client.active_requests",
        "System.Net.Http/http.client.request.time_in_queue",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsPerRequest(Instrument instrument) => PerRequest.Contains($"{instrument.Meter.Name}/{instrument.Name}");
}
