using System.Threading.Channels;
using Pingora.Proxy.Lifecycle;

namespace Pingora.Proxy.Tests.Lifecycle;

/// <summary>Signals a test sends to the serve loop, in order, as the POSIX source would.</summary>
public sealed class FakeSignals : ISignalSource
{
    private readonly Channel<Signal> _channel = Channel.CreateUnbounded<Signal>();

    public ChannelReader<Signal> Signals => _channel.Reader;

    public void Send(params Signal[] signals)
    {
        foreach (var signal in signals) _channel.Writer.TryWrite(signal);
    }
}
