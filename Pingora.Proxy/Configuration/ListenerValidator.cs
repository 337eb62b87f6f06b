using Pingora.Proxy.Listeners;

namespace Pingora.Proxy.Configuration;

/// <summary>Checks the listeners: each has an address, no address is listened on twice, protocols are known.</summary>
internal static class ListenerValidator
{
    public static bool IsKnownProtocol(string protocol) =>
        protocol.Equals("http1", StringComparison.OrdinalIgnoreCase) || protocol.Equals("http2", StringComparison.OrdinalIgnoreCase);

    public static void Validate(IReadOnlyList<ListenerConf> listeners, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        if (listeners.Count == 0 && sourceMap.Contains(ConfigPaths.Listeners) && !diagnostics.HasErrorsWithin(ConfigPaths.Listeners))
            diagnostics.Error(sourceMap.Locate(ConfigPaths.Listeners),
                "at least one listener is required, or the daemon has nothing to serve");

        // ListenAddress equality is on the normalized endpoint, so "[::]:80" and "[0::0]:80" collide here as they
        // would at bind time.
        var firstIndex = new Dictionary<ListenAddress, int>();
        for (var i = 0; i < listeners.Count; i++)
        {
            var listener = listeners[i];
            if (listener is null) continue; // not a mapping; already reported
            var path = ConfigPaths.Listener(i);
            var addressPath = $"{path}.{nameof(ListenerConf.Address)}";
            if (listener.Address is null)
            {
                if (!diagnostics.HasErrorsWithin(addressPath))
                    diagnostics.Error(sourceMap.Locate(addressPath, "address"), "missing: a listener needs an address such as 0.0.0.0:8080");
            }
            else if (firstIndex.TryGetValue(listener.Address, out var first))
            {
                var firstLocation = sourceMap.Locate($"{ConfigPaths.Listener(first)}.{nameof(ListenerConf.Address)}");
                diagnostics.Error(sourceMap.Locate(addressPath),
                    $"duplicate listener address {listener.Address}: {firstLocation.Key} on line {firstLocation.Line} already listens there");
            }
            else firstIndex[listener.Address] = i;

            ValidateProtocols(listener, path, sourceMap, diagnostics);
            if (listener.Tls is not null) TlsValidator.Validate(listener.Tls, $"{path}.{nameof(ListenerConf.Tls)}", sourceMap, diagnostics);
        }
    }

    /// <summary>The admin listener is a socket of its own: the public listeners never answer its endpoints.</summary>
    public static void ValidateAdmin(ListenAddress? admin, IReadOnlyList<ListenerConf> listeners, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        if (admin is null) return;
        for (var i = 0; i < listeners.Count; i++)
        {
            if (listeners[i]?.Address is not { } address || !address.Equals(admin)) continue;
            var property = nameof(ServerConf.AdminListener);
            var listener = sourceMap.Locate($"{ConfigPaths.Listener(i)}.{nameof(ListenerConf.Address)}");
            diagnostics.Error(sourceMap.Locate(property, KeyNames.ToSnakeCase(property)),
                $"{admin} is also {listener.Key} on line {listener.Line}: the admin listener needs an address of its own");
        }
    }

    private static void ValidateProtocols(ListenerConf listener, string listenerPath, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        if (listener.Protocols is not { } protocols) return;
        var path = $"{listenerPath}.{nameof(ListenerConf.Protocols)}";
        if (protocols.Count == 0)
        {
            diagnostics.Error(sourceMap.Locate(path), "list at least one protocol (http1, http2), or leave protocols out for the default");
            return;
        }
        for (var i = 0; i < protocols.Count; i++)
        {
            // http2 without TLS is valid: it is h2c (prior knowledge), so it passes without comment.
            if (protocols[i] is { } protocol && !IsKnownProtocol(protocol))
                diagnostics.Error(sourceMap.Locate($"{path}[{i}]"), $"unknown protocol '{protocol}'; use http1 or http2");
        }
        // Kestrel accepts this and logs "HTTP/2 is not enabled" at run time: without TLS (no ALPN) it cannot tell
        // an h2c preface from HTTP/1.1 on one port, so it serves HTTP/1.1 only.
        if (listener.Tls is null && protocols.Any(p => KeyNames.Same(p ?? "", "http1")) && protocols.Any(p => KeyNames.Same(p ?? "", "http2")))
            diagnostics.Warning(sourceMap.Locate(path),
                "without tls, [http1, http2] serves HTTP/1.1 only (Kestrel needs TLS with ALPN to offer both on one port); "
                + "use [http2] alone for h2c (HTTP/2 with prior knowledge), or add tls");
    }
}
