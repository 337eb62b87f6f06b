using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Limits;

/// <summary>
/// Kestrel's limits as the file bound them, onto the server's own (its <c>Limits</c> cannot be replaced); the
/// reload's diff compares them with <see cref="BoundEquality"/>.
/// By reflection over the same public properties the binder sets, so a limit a new Kestrel adds is carried too.
/// </summary>
public static class KestrelLimitsCopy
{
    public static void CopyInto(KestrelServerLimits source, KestrelServerLimits target) => Copy(source, target);

    private static void Copy(object source, object target)
    {
        foreach (var property in Properties(source.GetType()))
        {
            if (property.SetMethod is { IsPublic: true }) property.SetValue(target, property.GetValue(source));
            else if (property.GetValue(source) is { } nested) Copy(nested, property.GetValue(target)!);
        }
    }

    // The binder's own shapes (BindableTypes): the same properties it sets, and no reflection the trimmer cannot see.
    private static IEnumerable<PropertyInfo> Properties(Type type) =>
        BindableTypes.ObjectOf(type)!.Properties.Values.OrderBy(p => p.Name, StringComparer.Ordinal);
}
