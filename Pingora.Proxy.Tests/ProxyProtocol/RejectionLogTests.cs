using System.Net;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.ProxyProtocol;

namespace Pingora.Proxy.Tests.ProxyProtocol;

public class RejectionLogTests
{
    private static readonly IPEndPoint Peer = IPEndPoint.Parse("203.0.113.7:5555");
    private FakeTimeProvider _time = null!;
    private ListLogger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider();
        _logger = new ListLogger();
    }

    [Test]
    public void The_first_rejection_is_logged_at_once_with_listener_peer_and_reason()
    {
        using var log = new RejectionLog(_logger, "0.0.0.0:80", _time);

        log.Rejected(Peer, "bad v2 signature");

        Assert.That(_logger.Lines, Has.Count.EqualTo(1));
        Assert.That(_logger.Lines[0], Does.StartWith("Warning: ").And.Contain("closed 1 connection(s) on 0.0.0.0:80")
            .And.Contain("203.0.113.7:5555").And.Contain("bad v2 signature"));
    }

    [Test]
    public void A_burst_gives_one_line_a_second_counting_every_rejection()
    {
        using var log = new RejectionLog(_logger, "0.0.0.0:80", _time);

        log.Rejected(Peer, "first");
        for (var i = 0; i < 500; i++)
        {
            log.Rejected(Peer, $"reason {i}");
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.That(_logger.Lines, Has.Count.EqualTo(1), "the burst is held back until a second has passed");

        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(_logger.Lines, Has.Count.EqualTo(2), "flushed by the timer, without waiting for another rejection");
        Assert.That(_logger.Lines[1], Does.Contain("closed 500 connection(s)").And.Contain("reason 499"));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(_logger.Lines, Has.Count.EqualTo(2), "nothing pending, nothing logged");
    }

    [Test]
    public void A_rejection_after_a_quiet_second_is_logged_at_once_again()
    {
        using var log = new RejectionLog(_logger, "0.0.0.0:80", _time);
        log.Rejected(Peer, "one");
        _time.Advance(TimeSpan.FromSeconds(1));

        log.Rejected(Peer, "two");

        Assert.That(_logger.Lines, Has.Count.EqualTo(2));
        Assert.That(_logger.Lines[1], Does.Contain("closed 1 connection(s)").And.Contain("two"));
    }
}
