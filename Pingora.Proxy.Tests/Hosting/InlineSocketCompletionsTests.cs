using NUnit.Framework;
using Pingora.Proxy.Hosting;

namespace Pingora.Proxy.Tests.Hosting;

[TestFixture]
[NonParallelizable] // changes this process's environment, which the processes other tests start inherit
public sealed class InlineSocketCompletionsTests
{
    private string? _saved;

    [SetUp]
    public void Save() => _saved = Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable);

    [TearDown]
    public void Restore() => Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, _saved);

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
}
