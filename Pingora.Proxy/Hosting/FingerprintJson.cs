using System.Text.Json.Serialization;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Serializers generated at build time for <see cref="ConfigFingerprint"/>: the reflection-based first call took
/// over 100 ms, and the host is built on the way to serving (also in a successor during an upgrade).
/// </summary>
[JsonSerializable(typeof(RouteConfig))]
[JsonSerializable(typeof(ClusterConfig))]
[JsonSerializable(typeof(DestinationConfig))]
internal sealed partial class FingerprintJson : JsonSerializerContext;
