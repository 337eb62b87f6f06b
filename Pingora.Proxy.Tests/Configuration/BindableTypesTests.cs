using System.Reflection;
using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

/// <summary>
/// The binder builds only <see cref="BindableTypes"/>; a type the model can reach but the table lacks (a property a
/// new YARP version adds, say) would fail only when a file first uses it. This walks the model the way the binder
/// does and names every such type.
/// </summary>
[TestFixture]
public class BindableTypesTests
{
    [Test]
    public void EveryTypeTheModelReaches_IsRegistered()
    {
        var scalars = ConfigDocumentBinder.CreateScalarConverter();
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<Type>();
        foreach (var root in BindableTypes.Roots) Walk(root, root.Name);
        Assert.That(missing, Is.Empty);

        void Walk(Type type, string via)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (scalars.IsScalar(type) || !seen.Add(type)) return;
            if (Generic(type, typeof(IReadOnlyDictionary<,>), typeof(IDictionary<,>), typeof(Dictionary<,>)) is [var key, var value])
            {
                if (key != typeof(string) || BindableTypes.NewDictionary(value) is null) missing.Add($"dictionary of {value} (at {via})");
                Walk(value, via);
            }
            else if (type.IsArray || Generic(type, typeof(IReadOnlyList<>), typeof(IList<>), typeof(List<>),
                         typeof(IEnumerable<>), typeof(ICollection<>), typeof(IReadOnlyCollection<>)) is not null)
            {
                var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
                if (BindableTypes.NewList(element) is not { } list) missing.Add($"list of {element} (at {via})");
                else if (type.IsArray && BindableTypes.ToArray(element, list) is null) missing.Add($"array of {element} (at {via})");
                Walk(element, via);
            }
            else if (BindableTypes.ObjectOf(type) is { } shape)
            {
                foreach (var property in shape.Properties.Values) Walk(property.PropertyType, $"{type.Name}.{property.Name}");
            }
            else missing.Add($"{type} (at {via})");
        }
    }

    [Test]
    public void TheWalkSeesAnUnregisteredType()
    {
        // The test above is only as good as its walk: a type nobody registered must be reported.
        Assert.That(BindableTypes.ObjectOf(typeof(Unregistered)), Is.Null);
        Assert.That(BindableTypes.NewList(typeof(Unregistered)), Is.Null);
        Assert.That(BindableTypes.NewDictionary(typeof(Unregistered)), Is.Null);
    }

    private sealed class Unregistered;

    private static Type[]? Generic(Type type, params Type[] definitions) =>
        type.IsGenericType && definitions.Contains(type.GetGenericTypeDefinition()) ? type.GetGenericArguments() : null;
}
