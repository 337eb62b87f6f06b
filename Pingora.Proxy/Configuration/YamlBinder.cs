using System.Collections;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Binds a YamlDotNet node tree into the configuration model by reflection, reporting every mistake to a
/// <see cref="DiagnosticBag"/> with its position instead of throwing at the first one.
/// <para>
/// Keys match property names case-insensitively with underscores ignored, so Pingora's <c>grace_period_seconds</c>
/// and YARP's <c>ClusterId</c> both bind as written. Scalars are read by <see cref="ScalarConverter"/>; lists become
/// <see cref="List{T}"/> (or arrays); mappings become case-insensitive <see cref="Dictionary{TKey,TValue}"/> as YARP's
/// own configuration reader builds them, or objects whose public settable or <c>init</c> properties are set through
/// reflection (YARP's configuration types are records with <c>init</c> setters). Every such type is one of
/// <see cref="BindableTypes"/>, so the binder works unchanged in a Native AOT build.
/// </para>
/// <para>
/// A value that fails to bind leaves the property at its default, and its path is marked in the bag so later checks
/// can avoid reporting consequences of the same mistake. A list with a bad item fails as a whole, so that no
/// consumer ever meets a null item or an index that differs from the file's.
/// </para>
/// </summary>
internal sealed class YamlBinder(DiagnosticBag diagnostics, SourceMap sourceMap, ScalarConverter scalars)
{
    // Not thread-safe, hence one per binder; a binder serves one load.
    private readonly NullabilityInfoContext _nullability = new();

    /// <summary>Binds the value of a model property, honouring its nullability (a non-nullable one refuses an empty value).</summary>
    public bool TryBindProperty(YamlNode node, PropertyInfo property, NodePath path, out object? value) =>
        TryBind(node, property.PropertyType, _nullability.Create(property), path, out value);

    /// <summary>
    /// Binds a mapping's keys into a new object. Keys for which <paramref name="handledElsewhere"/> is true are left
    /// to the caller; <paramref name="otherKeys"/> are offered, besides the properties, when suggesting a fix for an
    /// unknown key.
    /// </summary>
    public T BindObject<T>(YamlMappingNode map, NodePath path, Func<string, bool>? handledElsewhere = null,
        IEnumerable<string>? otherKeys = null) where T : class, new()
    {
        var target = new T();
        BindInto(map, target, path, handledElsewhere, otherKeys);
        return target;
    }

    public void Record(NodePath path, YamlNode? key, YamlNode value) => sourceMap.Record(path, key, value);

    /// <summary>
    /// Reports a node that cannot be bound. A list or mapping where something else was expected is reported at its
    /// key: its own first line already belongs to its first child.
    /// </summary>
    public void Fail(YamlNode node, NodePath path, string message)
    {
        var at = node is not YamlScalarNode && sourceMap.TryGet(path.Canonical, out var recorded)
            ? recorded
            : SourceLocation.At(node.Start, path);
        diagnostics.Error(at, message, path.Canonical);
    }

    /// <summary>
    /// Reads a mapping key as a plain name; anything else (a list or mapping used as a key, an empty key) is an error.
    /// </summary>
    public bool TryKeyText(YamlNode keyNode, NodePath parent, out string key)
    {
        key = (keyNode as YamlScalarNode)?.Value ?? "";
        if (keyNode is YamlScalarNode && key.Length > 0) return true;
        Fail(keyNode, parent, $"expected a key name, got {Describe(keyNode)}");
        return false;
    }

    /// <summary>YAML's null: an empty plain scalar, <c>~</c> or <c>null</c>. A quoted <c>""</c> is an empty string.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        _ when IsNull(node) => "an empty value",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "a YAML alias",
    };

    private void BindInto(YamlMappingNode map, object target, NodePath path, Func<string, bool>? handledElsewhere,
        IEnumerable<string>? otherKeys)
    {
        var properties = ShapeOf(target.GetType()).Properties;
        var seen = new Dictionary<PropertyInfo, (string Key, Mark Start)>();
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (!TryKeyText(keyNode, path, out var key) || handledElsewhere?.Invoke(key) == true) continue;
            if (!properties.TryGetValue(KeyNames.Normalize(key), out var property))
            {
                WarnUnknownKey(keyNode, path.Key(key), key, properties.Values.Select(p => p.Name), otherKeys);
                continue;
            }
            var childPath = path.Property(property.Name, key);
            if (seen.TryGetValue(property, out var first))
            {
                Fail(keyNode, childPath, $"duplicate key: '{key}' sets the same setting as '{first.Key}' on line {first.Start.Line}");
                continue;
            }
            seen[property] = (key, keyNode.Start);
            sourceMap.Record(childPath, keyNode, valueNode);
            if (TryBind(valueNode, property.PropertyType, _nullability.Create(property), childPath, out var value))
                property.SetValue(target, value);
        }
    }

    public void WarnUnknownKey(YamlNode keyNode, NodePath path, string key, IEnumerable<string> propertyNames,
        IEnumerable<string>? otherKeys = null)
    {
        if (diagnostics.WarningsFull)
        {
            diagnostics.CountWarning();
            return;
        }
        var suggestion = KeyNames.Suggest(key, propertyNames, otherKeys);
        var hint = suggestion is null ? "" : $"; did you mean '{suggestion}'?";
        diagnostics.Warning(SourceLocation.At(keyNode.Start, path), $"unknown key '{path.Display}'{hint}");
    }

    private bool TryBind(YamlNode node, Type type, NullabilityInfo? nullability, NodePath path, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type);
        var target = underlying ?? type;
        if (IsNull(node))
        {
            if (underlying is not null || (!type.IsValueType && nullability is not null && nullability.WriteState != NullabilityState.NotNull))
                return true;
            Fail(node, path, $"expected {DescribeType(target)}, got an empty value");
            return false;
        }
        if (scalars.IsScalar(target)) return TryBindScalar(node, target, path, out value);
        if (DictionaryValueType(target) is { } valueType)
            return TryBindDictionary(node, valueType, nullability?.GenericTypeArguments.ElementAtOrDefault(1), path, out value);
        if (ListElementType(target) is { } elementType)
        {
            var elementNullability = target.IsArray ? nullability?.ElementType : nullability?.GenericTypeArguments.ElementAtOrDefault(0);
            return TryBindList(node, target, elementType, elementNullability, path, out value);
        }
        if (target.IsClass && target != typeof(object))
        {
            if (node is not YamlMappingNode map)
            {
                Fail(node, path, $"expected a mapping, got {Describe(node)}");
                return false;
            }
            value = ShapeOf(target).Create();
            BindInto(map, value, path, null, null);
            return true;
        }
        throw new NotSupportedException($"{target} is not a type the configuration binder supports");
    }

    private bool TryBindScalar(YamlNode node, Type type, NodePath path, out object? value)
    {
        value = null;
        if (node is YamlSequenceNode sequence && ScalarConverter.IsFlagsEnum(type))
            return TryBindFlags(sequence, type, path, out value);
        if (node is not YamlScalarNode scalar)
        {
            Fail(node, path, $"expected {DescribeType(type)}, got {Describe(node)}");
            return false;
        }
        var result = scalars.Convert(scalar.Value ?? "", type);
        if (!result.Ok)
        {
            Fail(node, path, result.Error!);
            return false;
        }
        if (result.Warning is not null) diagnostics.Warning(SourceLocation.At(node.Start, path), result.Warning);
        value = result.Value;
        return true;
    }

    /// <summary>A [Flags] enum written as a list, as YARP's <c>SslProtocols: [Tls12, Tls13]</c>.</summary>
    private bool TryBindFlags(YamlSequenceNode sequence, Type type, NodePath path, out object? value)
    {
        value = null;
        var names = new List<string>();
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var itemPath = path.Index(i);
            var result = item is YamlScalarNode scalar && !IsNull(item) ? scalars.Convert(scalar.Value!, type) : default;
            if (result.Ok) names.Add(((YamlScalarNode)item).Value!);
            else
            {
                Fail(item, itemPath, result.Error ?? $"expected {DescribeType(type)}, got {Describe(item)}");
                ok = false;
            }
        }
        if (!ok) return false;
        value = names.Count == 0 ? Enum.ToObject(type, 0) : scalars.Convert(string.Join(",", names), type).Value;
        return true;
    }

    private bool TryBindDictionary(YamlNode node, Type valueType, NullabilityInfo? valueNullability, NodePath path,
        out object? value)
    {
        value = null;
        if (node is not YamlMappingNode map)
        {
            Fail(node, path, $"expected a mapping, got {Describe(node)}");
            return false;
        }
        // Case-insensitive like the dictionaries YARP's own configuration reader builds: "d1" and "D1" are one key.
        var dictionary = BindableTypes.NewDictionary(valueType) ?? throw Unsupported(typeof(Dictionary<,>), valueType);
        var firstSeen = new Dictionary<string, Mark>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (!TryKeyText(keyNode, path, out var key)) continue;
            var childPath = path.Key(key);
            if (firstSeen.TryGetValue(key, out var first))
            {
                Fail(keyNode, childPath, $"duplicate key '{key}': keys here compare case-insensitively and line {first.Line} already has it");
                continue;
            }
            firstSeen[key] = keyNode.Start;
            sourceMap.Record(childPath, keyNode, valueNode);
            if (TryBind(valueNode, valueType, valueNullability, childPath, out var item)) dictionary[key] = item;
        }
        value = dictionary;
        return true;
    }

    private bool TryBindList(YamlNode node, Type listType, Type elementType, NullabilityInfo? elementNullability,
        NodePath path, out object? value)
    {
        value = null;
        if (node is not YamlSequenceNode sequence)
        {
            // A single value where a list is wanted ("Hosts: example.com") is the usual slip; show the fix.
            var hint = node is YamlScalarNode { Value: { } text } && scalars.IsScalar(elementType)
                ? $"; for a list of one write [{text}]"
                : "";
            Fail(node, path, $"expected a list, got {Describe(node)}{hint}");
            return false;
        }
        var list = BindableTypes.NewList(elementType) ?? throw Unsupported(typeof(List<>), elementType);
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var itemPath = path.Index(i);
            sourceMap.Record(itemPath, null, item);
            // Every item is bound, so each bad one is reported; but a list with a bad item is not handed on at all,
            // rather than with a null or default where its consumers expect a value.
            if (TryBind(item, elementType, elementNullability, itemPath, out var element)) list.Add(element);
            else ok = false;
        }
        if (!ok) return false;
        value = listType.IsArray ? BindableTypes.ToArray(elementType, list) ?? throw Unsupported(typeof(Array), elementType) : list;
        return true;
    }

    private string DescribeType(Type type) =>
        scalars.IsScalar(type) ? scalars.Describe(type)
        : DictionaryValueType(type) is not null ? "a mapping"
        : ListElementType(type) is not null ? "a list"
        : "a mapping";

    private static Type? DictionaryValueType(Type type)
    {
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        var args = type.GetGenericArguments();
        var isDictionary = definition == typeof(IReadOnlyDictionary<,>) || definition == typeof(IDictionary<,>)
            || definition == typeof(Dictionary<,>);
        return isDictionary && args[0] == typeof(string) ? args[1] : null;
    }

    private static Type? ListElementType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        var isList = definition == typeof(IReadOnlyList<>) || definition == typeof(IList<>) || definition == typeof(List<>)
            || definition == typeof(IEnumerable<>) || definition == typeof(ICollection<>)
            || definition == typeof(IReadOnlyCollection<>);
        return isList ? type.GetGenericArguments()[0] : null;
    }

    private static ObjectShape ShapeOf(Type type) =>
        BindableTypes.ObjectOf(type) ?? throw new NotSupportedException($"{type} is not one of the configuration binder's BindableTypes");

    private static NotSupportedException Unsupported(Type collection, Type item) =>
        new($"{collection.Name} of {item} is not one of the configuration binder's BindableTypes");
}
