using Microsoft.AspNetCore.Builder;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Keeps ASP.NET Core's authorization middleware off the request path. WebApplication adds it by itself at start
/// whenever the authorization services are registered (YARP registers them) and the app did not call
/// UseAuthorization; it then runs for every request. No route here can carry an authorization policy (the binder
/// refuses the key, see ReverseProxySectionBinder), so it would decide nothing: its async frame was 4% of the
/// bytes allocated per keep-alive request.
/// </summary>
public static class NoAuthorizationMiddleware
{
    /// <summary>The property UseAuthorization sets and WebApplication reads; not a public constant of ASP.NET Core.</summary>
    public const string AddedKey = "__AuthorizationMiddlewareSet";

    public static void Suppress(IApplicationBuilder app) => app.Properties[AddedKey] = true;
}
