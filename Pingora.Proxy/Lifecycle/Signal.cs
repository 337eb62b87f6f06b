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
}
