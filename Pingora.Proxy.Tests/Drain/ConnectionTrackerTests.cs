using NUnit.Framework;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Tests.Drain;

[TestFixture]
public sealed class ConnectionTrackerTests
{
    [Test]
    public void An_http1_connection_stays_unsettled_until_it_closes()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((1, 1)));

        var settled = tracker.WhenSettled();
        connection.RequestStarted(multiplexed: false);
        Assert.That(settled.IsCompleted, Is.False, "an HTTP/1.x connection may carry another request until it closes");

        connection.Close();
        Assert.That(settled.IsCompleted, Is.True);
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((0, 0)));
    }

    [Test]
    public void An_http2_connection_settles_at_its_first_request_and_stays_active()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        var settled = tracker.WhenSettled();
        Assert.That(settled.IsCompleted, Is.False, "no request yet: it could be either protocol");

        connection.RequestStarted(multiplexed: true);
        Assert.That(settled.IsCompleted, Is.True, "GOAWAY covers HTTP/2");
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((1, 0)));
        connection.Close();
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((0, 0)));
    }

    [Test]
    public void A_connection_closed_before_any_request_settles()
    {
        var tracker = new ConnectionTracker();
        var quiet = tracker.Open();
        var settled = tracker.WhenSettled();
        quiet.Close();
        Assert.That(settled.IsCompleted, Is.True);
    }

    [Test]
    public void Repeated_requests_and_closes_count_once()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        connection.RequestStarted(multiplexed: true);
        connection.RequestStarted(multiplexed: true);
        connection.Close();
        connection.Close();
        connection.RequestStarted(multiplexed: true);
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((0, 0)));
        Assert.That(tracker.WhenSettled().IsCompleted, Is.True);
    }

    [Test]
    public void Racing_http2_requests_and_closes_leave_the_counts_at_zero()
    {
        var tracker = new ConnectionTracker();
        var connections = Enumerable.Range(0, 2000).Select(_ => tracker.Open()).ToArray();
        Parallel.ForEach(connections, c =>
        {
            // Whichever wins, each connection settles exactly once.
            var request = Task.Run(() => c.RequestStarted(multiplexed: true));
            c.Close();
            request.Wait();
        });
        Assert.That((tracker.Active, tracker.Unsettled), Is.EqualTo((0, 0)));
    }

    [Test]
    public void Draining_is_off_until_started()
    {
        var tracker = new ConnectionTracker();
        Assert.That(tracker.Draining, Is.False);
        tracker.StartDraining();
        Assert.That(tracker.Draining, Is.True);
    }
}
