using Pingora.Proxy.Configuration;
using Pingora.Proxy.Policies;

namespace Pingora.Proxy.Lifecycle;

/// <summary>
/// What a reload cannot apply in place: server keys, listeners, Kestrel's limits (Kestrel reads them once, at
/// start) and policy definitions (ASP.NET Core builds them at start) take effect only through an upgrade.
/// </summary>
public static class ConfigDiff
{
    public static IReadOnlyList<string> NeedingUpgrade(PingoraConfig running, PingoraConfig reloaded)
    {
        var changed = typeof(ServerConf).GetProperties()
            .Where(p => !Equals(p.GetValue(running.Server), p.GetValue(reloaded.Server)))
            .Select(p => KeyNames.ToSnakeCase(p.Name))
            .ToList();
        if (!running.Listeners.Select(Describe).SequenceEqual(reloaded.Listeners.Select(Describe)))
            changed.Add("listeners");
        if (!BoundEquality.Equal(running.Kestrel.Limits, reloaded.Kestrel.Limits))
            changed.Add("Kestrel.Limits");
        changed.AddRange(PolicyReload.ChangedSections(running.Policies, reloaded.Policies));
        return changed;
    }

    private static string Describe(ListenerConf l) =>
        $"{l.Address} {l.Tls?.CertificatePath} {l.Tls?.KeyPath} {string.Join(",", l.Protocols ?? [])} {l.ProxyProtocol}";
}
