namespace Pingora.Proxy.Lifecycle;

/// <summary>The signals the daemon acts on, in Pingora's meaning.</summary>
public enum Signal
{
    /// <summary>SIGTERM: stop accepting, drain, exit.</summary>
    Terminate,
    /// <summary>SIGINT: exit at once.</summary>
    Interrupt,
    /// <summary>SIGQUIT: hand the listeners to a successor, then drain.</summary>
    Upgrade,
    /// <summary>SIGHUP: re-read routes and clusters.</summary>
    Reload,
    /// <summary>SIGUSR1: reopen error_log and access_log (logrotate). Not the -d launcher's readiness SIGUSR1, which
    /// goes to the launcher, a process of its own that never reads this source.</summary>
    Reopen,
}
