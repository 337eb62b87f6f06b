using Microsoft.Extensions.DependencyInjection;
using Pingora.Proxy.Policies;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Configuration;

/// <summary>
/// Runs YARP's own <see cref="IConfigValidator"/> on every route and cluster, so what YARP would refuse when the
/// configuration is applied (a bad path template, an unknown transform or load balancing policy) is reported by
/// <c>-t</c> and before a reload is attempted, at the line of the route or cluster concerned.
/// </summary>
internal static class YarpValidation
{
    // Building the container costs tens of milliseconds and the validator is stateless, so one serves every load
    // and reload for the life of the process (it is never disposed on purpose).
    private static readonly Lazy<IConfigValidator> Validator = new(() =>
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy();
        return services.BuildServiceProvider().GetRequiredService<IConfigValidator>();
    });

    /// <summary>
    /// Starts building the validator on the thread pool, so that it is ready by the time the file has been read and
    /// bound (at start, both take about as long, and the start is on an upgrade's critical path).
    /// </summary>
    public static void Prepare()
    {
        if (Validator.IsValueCreated) return;
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            try
            {
                _ = Validator.Value;
            }
            catch (Exception)
            {
                // Lazy keeps the exception; Validate throws it on the loading thread.
            }
        }, null);
    }

    public static void Validate(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, SourceMap sourceMap,
        DiagnosticBag diagnostics)
    {
        foreach (var route in routes)
        {
            // Policy references are checked against the file's sections (PolicyReferences); this container has none.
            var withoutPolicies = PolicyReferences.WithoutPolicies(route);
            Report(ConfigPaths.Route(route.RouteId), () => Validator.Value.ValidateRouteAsync(withoutPolicies), sourceMap, diagnostics);
        }
        foreach (var cluster in clusters)
            Report(ConfigPaths.Cluster(cluster.ClusterId), () => Validator.Value.ValidateClusterAsync(cluster), sourceMap, diagnostics);
    }

    private static void Report(string path, Func<ValueTask<IList<Exception>>> validate, SourceMap sourceMap, DiagnosticBag diagnostics)
    {
        // An entry that did not bind cleanly would only produce YARP's version of the same complaint.
        if (diagnostics.HasErrorsWithin(path)) return;
        IList<Exception> problems;
        try
        {
            problems = validate().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            // YARP's validator is meant to return problems, not throw; if some input makes it throw anyway, that is
            // still a refusal of this entry and must not crash a reload.
            problems = [e];
        }
        foreach (var problem in problems) diagnostics.Error(sourceMap.Locate(path), Describe(problem));
    }

    /// <summary>YARP puts the reason for a bad path template in the inner exception.</summary>
    private static string Describe(Exception e)
    {
        if (e.InnerException is not { } inner) return e.Message;
        var separator = e.Message.EndsWith('.') ? " " : ": ";
        return e.Message + separator + inner.Message;
    }
}
