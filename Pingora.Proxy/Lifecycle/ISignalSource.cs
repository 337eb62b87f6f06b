using System.Threading.Channels;

namespace Pingora.Proxy.Lifecycle;

/// <summary>Where the lifecycle's signals come from, in the order they arrived: POSIX signals in the daemon
/// (<see cref="PosixSignalSource"/>), a plain channel in the serve loop's tests.</summary>
public interface ISignalSource
{
    ChannelReader<Signal> Signals { get; }
}
