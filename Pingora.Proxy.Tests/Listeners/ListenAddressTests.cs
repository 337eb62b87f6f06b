using NUnit.Framework;
using Pingora.Proxy.Listeners;

namespace Pingora.Proxy.Tests.Listeners;

[TestFixture]
public sealed class ListenAddressTests
{
    [TestCase("0.0.0.0:80", "0.0.0.0:80")]
    [TestCase(" 127.0.0.1:8080 ", "127.0.0.1:8080")]
    [TestCase("[::]:443", "[::]:443")]
    [TestCase("[0:0::0]:443", "[::]:443")]
    [TestCase("[::ffff:127.0.0.1]:80", "127.0.0.1:80")]
    public void Spellings_of_one_address_normalize_to_one_form(string text, string normal)
    {
        var address = ListenAddress.Parse(text);
        Assert.That(address.ToString(), Is.EqualTo(normal));
        Assert.That(address, Is.EqualTo(ListenAddress.Parse(normal)));
        Assert.That(address.GetHashCode(), Is.EqualTo(ListenAddress.Parse(normal).GetHashCode()));
    }

    [TestCase("localhost:80", "is not an address")]
    [TestCase("127.0.0.1", "is not an address")]
    [TestCase("::1", "in brackets")]
    [TestCase("127.0.0.1:0", "fixed port")]
    [TestCase("127.0.0.1:70000", "is not an address")]
    public void Non_addresses_are_refused_with_a_reason(string text, string reason)
    {
        Assert.That(ListenAddress.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(reason));
    }
}
