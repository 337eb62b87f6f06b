using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Pingora.Proxy.AccessLog;

namespace Pingora.Proxy.Tests.AccessLog;

[TestFixture]
public sealed class RequestIdTests
{
    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var (name, value) in headers) context.Request.Headers[name] = value;
        return context.Request;
    }

    [Test]
    public void The_clients_x_request_id_is_kept()
    {
        var request = Request(("X-Request-Id", "abc-123"), ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        Assert.That(RequestId.Apply(request), Is.EqualTo("abc-123"));
        Assert.That(request.Headers["X-Request-Id"].ToString(), Is.EqualTo("abc-123"));
    }

    [Test]
    public void Without_one_the_trace_id_of_traceparent_is_used_and_forwarded_as_x_request_id()
    {
        var request = Request(("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        Assert.That(RequestId.Apply(request), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
        Assert.That(request.Headers["X-Request-Id"].ToString(), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    [TestCase("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01")]
    [TestCase("garbage")]
    public void An_invalid_traceparent_gets_a_new_id(string traceparent)
    {
        var id = RequestId.Apply(Request(("traceparent", traceparent)));
        Assert.That(id, Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public void A_new_id_is_generated_and_an_unusable_one_replaced()
    {
        var first = RequestId.Apply(Request());
        Assert.That(first, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(RequestId.Apply(Request()), Is.Not.EqualTo(first));
        var request = Request(("X-Request-Id", "has space\"" + new string('x', 10)));
        var replaced = RequestId.Apply(request);
        Assert.That(replaced, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(request.Headers["X-Request-Id"].ToString(), Is.EqualTo(replaced));
        Assert.That(RequestId.Apply(Request(("X-Request-Id", new string('a', 129)))), Does.Match("^[0-9a-f]{32}$"));
    }
}
