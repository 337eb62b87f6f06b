using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Pingora.Proxy.Descriptors;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Tests.Descriptors;

[TestFixture]
public sealed class AcceptGateTests
{
    private static readonly SocketException Emfile = new((int)SocketError.TooManyOpenSockets);

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    [Test]
    public void The_reserve_holds_its_descriptors_until_released_and_takes_them_again()
    {
        var before = OpenDescriptors();
        using var reserve = new DescriptorReserve(8);
        Assert.That((reserve.Held, OpenDescriptors() - before), Is.EqualTo((8, 8)));

        reserve.Release();
        Assert.That((reserve.Held, OpenDescriptors() - before), Is.EqualTo((0, 0)));

        Assert.That(reserve.TryFill(), Is.True);
        Assert.That(reserve.Held, Is.EqualTo(8));
    }

    [Test]
    public void Exhaustion_pauses_accepting_and_frees_the_reserve_until_a_connection_closes()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        using var reserve = new DescriptorReserve(4);
        using var gate = new AcceptGate(reserve, tracker, new RecordingLogger());

        gate.Exhausted("127.0.0.1:80", Emfile);
        var open = gate.WhenOpen(CancellationToken.None);
        Assert.That((gate.Paused, open.IsCompleted, reserve.Held), Is.EqualTo((true, false, 0)));

        connection.Close();
        Assert.That(open.Wait(TimeSpan.FromSeconds(5)), Is.True, "a closed connection resumes accepting");
        Assert.That((gate.Paused, reserve.Held), Is.EqualTo((false, 4)));
        Assert.That(gate.WhenOpen(CancellationToken.None).IsCompleted, Is.True);
    }

    [Test]
    public void Failures_within_one_interval_are_reported_once_and_counted_in_the_next_report()
    {
        var tracker = new ConnectionTracker();
        using var reserve = new DescriptorReserve(1);
        var log = new RecordingLogger();
        using var gate = new AcceptGate(reserve, tracker, log);

        for (var i = 0; i < 50; i++) gate.Exhausted("127.0.0.1:80", Emfile);

        var warnings = log.Messages.Where(m => m.Level == LogLevel.Warning).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), string.Join("\n", log.Messages));
        Assert.That(warnings[0].Text, Does.Contain("paused 1 times in the last 10 s"));
    }

    [Test]
    public void Only_running_out_of_descriptors_or_buffers_counts_as_exhaustion()
    {
        Assert.That(AcceptGate.IsExhaustion(Emfile), Is.True);
        Assert.That(AcceptGate.IsExhaustion(new SocketException((int)SocketError.NoBufferSpaceAvailable)), Is.True);
        Assert.That(AcceptGate.IsExhaustion(new SocketException((int)SocketError.ConnectionReset)), Is.False);
    }

    private sealed class RecordingLogger : ILogger<AcceptGate>
    {
        private readonly Lock _lock = new();
        private readonly List<(LogLevel Level, string Text)> _messages = [];

        public IReadOnlyList<(LogLevel Level, string Text)> Messages
        {
            get { lock (_lock) return _messages.ToArray(); }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lock) _messages.Add((logLevel, formatter(state, exception)));
        }
    }
}
