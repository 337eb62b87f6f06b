using Pingora.Proxy.Configuration;
using Pingora.Proxy.Hosting;
using Pingora.Proxy.Policies;

namespace Pingora.Proxy.Lifecycle;

/// <summary>SIGHUP's work: re-read the file, apply its routes and clusters, name what only an upgrade applies. A file
/// with errors changes nothing.</summary>
public sealed class ConfigReload(string path, PingoraConfig running, ProxyHost host, LifecycleState lifecycle)
{
    public void Run()
    {
        var loaded = ConfigLoader.Load(path);
        if (!loaded.Ok)
        {
            lifecycle.Failed(Phase.Reload, "rejected: {File} has errors; the running configuration stays:{NewLine}{Errors}",
                path, Environment.NewLine, string.Join(Environment.NewLine, loaded.Errors));
            return;
        }
        // The read may have taken long enough for a drain to begin; a stopping host gets no new routes.
        if (!lifecycle.Current.AcceptsReload())
        {
            lifecycle.Log.Information("reload of {File} not applied: the process is {State}", path, lifecycle.Current.StatusName());
            return;
        }
        var reloaded = loaded.Config!;
        var unavailable = PolicyReload.UnavailableReferences(reloaded.Routes, running.Policies);
        if (unavailable.Count > 0)
        {
            lifecycle.Failed(Phase.Reload, "rejected: {File} has routes naming policies this process does not have; the running configuration stays:{NewLine}{Errors}",
                path, Environment.NewLine, string.Join(Environment.NewLine, unavailable));
            return;
        }
        foreach (var warning in loaded.Warnings) lifecycle.Log.Warning("{Warning}", warning.ToString());
        var needUpgrade = ConfigDiff.NeedingUpgrade(running, reloaded);
        if (needUpgrade.Count > 0)
            lifecycle.Log.Warning("reload does not apply changes to {Keys}: they take effect with an upgrade (pingora -u, then SIGQUIT)",
                string.Join(", ", needUpgrade));
        host.ApplyRoutes(reloaded.Routes, reloaded.Clusters);
        lifecycle.Enter(Phase.Reload, "ok: {Routes} routes, {Clusters} clusters", reloaded.Routes.Count, reloaded.Clusters.Count);
    }
}
