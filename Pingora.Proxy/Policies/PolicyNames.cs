namespace Pingora.Proxy.Policies;

/// <summary>Policy names with a meaning of their own to YARP or ASP.NET Core.</summary>
internal static class PolicyNames
{
    /// <summary>A route that names it gets no policy of that kind (YARP's reserved name, for rate limiting, timeouts and CORS).</summary>
    public const string Disable = "Disable";

    /// <summary>YARP's name for the application's default policy. None is defined here, so routes may not name it.</summary>
    public const string Default = "Default";

    public static bool IsReserved(string name) =>
        string.Equals(name, Disable, StringComparison.OrdinalIgnoreCase) || string.Equals(name, Default, StringComparison.OrdinalIgnoreCase);
}
