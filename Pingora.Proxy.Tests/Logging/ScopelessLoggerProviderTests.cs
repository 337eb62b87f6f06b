using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Pingora.Proxy.Logging;

namespace Pingora.Proxy.Tests.Logging;

[TestFixture]
public sealed class ScopelessLoggerProviderTests
{
    [Test]
    public void Opens_no_scope_yet_passes_every_entry_and_level_through()
    {
        var inner = new RecordingProvider();
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(new ScopelessLoggerProvider(inner)).SetMinimumLevel(LogLevel.Warning));
        var log = factory.CreateLogger("Microsoft.AspNetCore.Server.Kestrel");

        using (log.BeginScope("connection {Id}", "0HN1"))
        {
            log.LogWarning("slow {What}", "heartbeat");
            log.LogInformation("below the level");
        }

        Assert.That(inner.Scopes, Is.Zero, "the inner provider's loggers were asked for no scope");
        Assert.That(inner.Lines, Is.EqualTo(new[] { "Warning Microsoft.AspNetCore.Server.Kestrel: slow heartbeat" }));
    }

    [Test]
    public void Is_no_external_scope_provider_so_the_factory_keeps_no_scope_stack()
    {
        // A provider that supports external scopes makes the factory push every BeginScope onto an AsyncLocal.
        Assert.That(new ScopelessLoggerProvider(new RecordingProvider()), Is.Not.InstanceOf<ISupportExternalScope>());
    }

    private sealed class RecordingProvider : ILoggerProvider, ISupportExternalScope
    {
        public int Scopes;
        public readonly List<string> Lines = [];

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => Interlocked.Increment(ref Scopes);

        public void Dispose() { }

        private sealed class Recorder(RecordingProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                Interlocked.Increment(ref owner.Scopes);
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Lines) owner.Lines.Add($"{logLevel} {category}: {formatter(state, exception)}");
            }
        }
    }
}
