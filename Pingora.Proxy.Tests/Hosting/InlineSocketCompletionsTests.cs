using NUnit.Framework;
using Pingora.Proxy.Hosting;

namespace Pingora.Proxy.Tests.Hosting;

[TestFixture]
[NonParallelizable] // changes this process's environment, which the processes other tests start inherit
public sealed class InlineSocketCompletionsTests
{
    private string? _saved;
    private string? _savedThreads;

    [SetUp]
    public void Save()
    {
        _saved = Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable);
        _savedThreads = Environment.GetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable);
    }

    [TearDown]
    public void Restore()
    {
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, _saved);
        Environment.SetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable, _savedThreads);
    }

    [Test]
    public void Switches_inline_completions_on_when_the_operator_has_not_chosen()
    {
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, null);
        InlineSocketCompletions.EnableUnlessSet();
        Assert.That(Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable), Is.EqualTo("1"));
    }

    [Test]
    public void Keeps_the_operators_choice()
    {
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, "0");
        InlineSocketCompletions.EnableUnlessSet();
        Assert.That(Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable), Is.EqualTo("0"));
    }

    [Test]
    public void Runs_one_epoll_thread_per_two_cpus_when_the_operator_has_not_chosen()
    {
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, null);
        Environment.SetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable, null);
        InlineSocketCompletions.EnableUnlessSet();
        Assert.That(Environment.GetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable),
            Is.EqualTo(InlineSocketCompletions.EpollThreads(Environment.ProcessorCount).ToString()));
    }

    [Test]
    public void Keeps_the_operators_thread_count()
    {
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, null);
        Environment.SetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable, "3");
        InlineSocketCompletions.EnableUnlessSet();
        Assert.That(Environment.GetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable), Is.EqualTo("3"));
    }

    [Test]
    public void Leaves_the_thread_count_to_the_runtime_when_completions_are_not_inline()
    {
        // Without inline completions the epoll threads only dispatch, and the runtime's own count (one per 30 CPUs) fits.
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, "0");
        Environment.SetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable, null);
        InlineSocketCompletions.EnableUnlessSet();
        Assert.That(Environment.GetEnvironmentVariable(InlineSocketCompletions.ThreadCountVariable), Is.Null);
    }

    [TestCase(1, 1)]
    [TestCase(2, 1)]
    [TestCase(3, 1)]
    [TestCase(4, 2)]
    [TestCase(16, 8)]
    public void Epoll_threads_are_half_the_cpus_and_at_least_one(int processors, int threads) =>
        Assert.That(InlineSocketCompletions.EpollThreads(processors), Is.EqualTo(threads));
}
