using System.Collections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Whether two bound configuration sections say the same, compared through the binder's own shapes
/// (<see cref="BindableTypes"/>): the properties it sets, lists and dictionaries all the way down. The reload diff
/// asks it of the sections a reload cannot apply (Kestrel's limits, policy definitions), whose classes
/// (KestrelServerLimits, System.Threading.RateLimiting's options) have no equality of their own.
/// </summary>
internal static class BoundEquality
{
    public static bool Equal(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        var type = a.GetType();
        if (type != b.GetType()) return false;
        if (type.IsPrimitive || type.IsEnum || a is string or TimeSpan or decimal) return a.Equals(b);
        // Built through its constructor (BindableTypes.ConstructorOf), so it has no shape of properties to walk.
        if (a is MinDataRate ra && b is MinDataRate rb) return ra.BytesPerSecond == rb.BytesPerSecond && ra.GracePeriod == rb.GracePeriod;
        if (a is IDictionary da && b is IDictionary db)
            return da.Count == db.Count && da.Keys.Cast<object>().All(k => db.Contains(k) && Equal(da[k], db[k]));
        if (a is IEnumerable ea && b is IEnumerable eb)
        {
            var la = ea.Cast<object?>().ToList();
            var lb = eb.Cast<object?>().ToList();
            return la.Count == lb.Count && la.Zip(lb).All(p => Equal(p.First, p.Second));
        }
        return BindableTypes.ObjectOf(type) is { } shape
            ? shape.Properties.Values.All(p => Equal(p.GetValue(a), p.GetValue(b)))
            : a.Equals(b);
    }
}
