using System.Collections;
using System.Reflection;

namespace Pingora.Proxy.Policies;

/// <summary>Compares two bound configuration objects by their public properties, lists and dictionaries, all the way
/// down: the options classes of System.Threading.RateLimiting have no equality of their own.</summary>
internal static class StructuralEquality
{
    public static bool Equal(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.GetType() != b.GetType()) return false;
        var type = a.GetType();
        if (type.IsPrimitive || type.IsEnum || a is string or TimeSpan or decimal) return a.Equals(b);
        if (a is IDictionary da && b is IDictionary db)
            return da.Count == db.Count && da.Keys.Cast<object>().All(k => db.Contains(k) && Equal(da[k], db[k]));
        if (a is IEnumerable ea && b is IEnumerable eb)
        {
            var la = ea.Cast<object?>().ToList();
            var lb = eb.Cast<object?>().ToList();
            return la.Count == lb.Count && la.Zip(lb).All(p => Equal(p.First, p.Second));
        }
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .All(p => Equal(p.GetValue(a), p.GetValue(b)));
    }
}
