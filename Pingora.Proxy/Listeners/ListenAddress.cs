using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Pingora.Proxy.Listeners;

/// <summary>
/// A listening address in normal form. Two spellings of one address ("[0::0]:80", "[::]:80") are equal, which is
/// what the upgrade handoff matches listeners by.
/// </summary>
public sealed record ListenAddress(IPEndPoint EndPoint)
{
    public AddressFamily Family => EndPoint.AddressFamily;

    /// <summary>Parses "IPv4:port" or "[IPv6]:port". Host names are refused: a listener binds one address.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ListenAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        text = text.Trim();
        if (!IPEndPoint.TryParse(text, out var ep) || !text.Contains(':'))
        {
            error = $"'{text}' is not an address of the form 0.0.0.0:8080 or [::]:8080";
            return false;
        }
        // IPEndPoint.TryParse accepts "::1" (no port) as port 0, and "[::1]" likewise.
        if (ep.AddressFamily == AddressFamily.InterNetworkV6 && !text.StartsWith('['))
        {
            error = $"'{text}': write an IPv6 address in brackets with a port, as [::1]:8080";
            return false;
        }
        if (ep.Port == 0)
        {
            error = $"'{text}': a listener needs a fixed port (port 0 cannot be handed over in an upgrade)";
            return false;
        }
        if (ep.Address.IsIPv4MappedToIPv6) ep = new IPEndPoint(ep.Address.MapToIPv4(), ep.Port);
        address = new ListenAddress(ep);
        error = null;
        return true;
    }

    public static ListenAddress Parse(string text) =>
        TryParse(text, out var a, out var e) ? a : throw new FormatException(e);

    /// <summary>Normal form: "0.0.0.0:80", "[::]:443".</summary>
    public override string ToString() => EndPoint.ToString();
}
