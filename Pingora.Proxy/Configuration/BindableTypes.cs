using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Pingora.Proxy.Limits;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>The settable properties of one bindable class, by normalized key, and how to make an empty one.</summary>
internal sealed record ObjectShape(Func<object> Create, IReadOnlyDictionary<string, PropertyInfo> Properties);

/// <summary>
/// The closed set of types <see cref="YamlBinder"/> builds: every class of the configuration model (ours and YARP's
/// records), and every list and dictionary they hold. Each is named here with its type as a generic argument, so
/// the trimmer keeps its properties and constructor and Native AOT compiles each <see cref="List{T}"/> and
/// <see cref="Dictionary{TKey,TValue}"/> ahead of time: no <c>MakeGenericType</c>, no reflection the compiler cannot
/// see. BindableTypesTests walks the model from its roots and fails when a type reachable from them is missing (a
/// new YARP property, say), which would otherwise surface as a NotSupportedException on the first file using it.
/// </summary>
internal static class BindableTypes
{
    private const DynamicallyAccessedMemberTypes Bound =
        DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor;

    // Concurrent because unit tests add their own sample types while other tests bind.
    private static readonly ConcurrentDictionary<Type, ObjectShape> Objects = new();
    private static readonly ConcurrentDictionary<Type, Func<IList>> Lists = new();
    private static readonly ConcurrentDictionary<Type, Func<IList, Array>> Arrays = new();
    private static readonly ConcurrentDictionary<Type, Func<IDictionary>> Dictionaries = new();
    private static readonly ConcurrentDictionary<Type, ConstructorInfo> Constructors = new();

    static BindableTypes()
    {
        // Ours.
        Object<ServerConf>();
        Object<ListenerConf>();
        Object<TlsConf>();
        ListOf<ListenerConf>();
        // Kestrel's limits, bound onto Kestrel's own classes (see KestrelConf).
        Object<KestrelConf>();
        Object<KestrelServerLimits>();
        Object<Http2Limits>();
        Object<Http3Limits>();
        Constructed<MinDataRate>();
        // YARP's routes.
        Object<RouteConfig>();
        Object<RouteMatch>();
        Object<RouteHeader>();
        Object<RouteQueryParameter>();
        ListOf<RouteHeader>();
        ListOf<RouteQueryParameter>();
        ListOf<IReadOnlyDictionary<string, string>>(); // Transforms
        // YARP's clusters.
        Object<ClusterConfig>();
        Object<DestinationConfig>();
        Object<SessionAffinityConfig>();
        Object<SessionAffinityCookieConfig>();
        Object<HealthCheckConfig>();
        Object<ActiveHealthCheckConfig>();
        Object<PassiveHealthCheckConfig>();
        Object<HttpClientConfig>();
        Object<WebProxyConfig>();
        Object<Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig>();
        DictionaryOf<DestinationConfig>();
        // Route policies (Policies/), with System.Threading.RateLimiting's options classes.
        Object<Pingora.Proxy.Policies.PolicyConf>();
        Object<Pingora.Proxy.Policies.RateLimiterConf>();
        Object<Pingora.Proxy.Policies.RateLimitPolicyConf>();
        Object<System.Threading.RateLimiting.FixedWindowRateLimiterOptions>();
        Object<System.Threading.RateLimiting.SlidingWindowRateLimiterOptions>();
        Object<System.Threading.RateLimiting.TokenBucketRateLimiterOptions>();
        Object<System.Threading.RateLimiting.ConcurrencyLimiterOptions>();
        Object<Pingora.Proxy.Policies.RequestTimeoutsConf>();
        Object<Pingora.Proxy.Policies.TimeoutPolicyConf>();
        Object<Pingora.Proxy.Policies.OutputCacheConf>();
        Object<Pingora.Proxy.Policies.OutputCachePolicyConf>();
        Object<Pingora.Proxy.Policies.CorsConf>();
        Object<Pingora.Proxy.Policies.CorsPolicyConf>();
        DictionaryOf<Pingora.Proxy.Policies.RateLimitPolicyConf>();
        DictionaryOf<Pingora.Proxy.Policies.TimeoutPolicyConf>();
        DictionaryOf<Pingora.Proxy.Policies.OutputCachePolicyConf>();
        DictionaryOf<Pingora.Proxy.Policies.CorsPolicyConf>();
        // Shared.
        ListOf<string>();
        DictionaryOf<string>(); // Metadata
    }

    /// <summary>The root types; everything reachable from their properties must be registered.</summary>
    public static IReadOnlyList<Type> Roots { get; } =
        [typeof(ServerConf), typeof(IReadOnlyList<ListenerConf>), typeof(RouteConfig), typeof(ClusterConfig), typeof(KestrelConf), typeof(Pingora.Proxy.Policies.PolicyConf)];

    public static ObjectShape? ObjectOf(Type type) => Objects.GetValueOrDefault(type);

    /// <summary>A type made only through its one public constructor, each parameter a key (Kestrel's MinDataRate).</summary>
    public static ConstructorInfo? ConstructorOf(Type type) => Constructors.GetValueOrDefault(type);

    public static IList? NewList(Type elementType) => Lists.TryGetValue(elementType, out var create) ? create() : null;

    public static Array? ToArray(Type elementType, IList items) => Arrays.TryGetValue(elementType, out var copy) ? copy(items) : null;

    /// <summary>Case-insensitive, like the dictionaries YARP's own configuration reader builds.</summary>
    public static IDictionary? NewDictionary(Type valueType) => Dictionaries.TryGetValue(valueType, out var create) ? create() : null;

    internal static void Object<[DynamicallyAccessedMembers(Bound)] T>() where T : class, new()
    {
        var byKey = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0) continue;
            // A get-only property holding an object (Kestrel's Limits.Http2) is bound into the instance it holds.
            if (property.SetMethod is not { IsPublic: true } && !IsNestedObject(property.PropertyType)) continue;
            // Two properties one key could reach would make binding depend on declaration order.
            if (!byKey.TryAdd(KeyNames.Normalize(property.Name), property))
                throw new InvalidOperationException($"{typeof(T)}.{property.Name} collides with another property once case and underscores are ignored");
        }
        Objects[typeof(T)] = new ObjectShape(static () => new T(), byKey);
    }

    private static bool IsNestedObject(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type);

    internal static void Constructed<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>() =>
        Constructors[typeof(T)] = typeof(T).GetConstructors().Single();

    internal static void ListOf<T>() => Lists[typeof(T)] = static () => new List<T>();

    internal static void ArrayOf<T>() => Arrays[typeof(T)] = static items =>
    {
        var array = new T[items.Count];
        items.CopyTo(array, 0);
        return array;
    };

    internal static void DictionaryOf<T>() =>
        Dictionaries[typeof(T)] = static () => new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
}
