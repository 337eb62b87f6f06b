using NUnit.Framework;
using Pingora.Proxy.Drain;

namespace Pingora.Proxy.Tests.Drain;

[TestFixture]
public sealed class ConnectionTrackerTests
{
    [Test]
    public void A_new_connection_awaits_its_first_request_until_one_starts()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        Assert.That((tracker.Active, tracker.AwaitingFirstRequest), Is.EqualTo((1, 1)));

        var settled = tracker.WhenNoneAwaitingFirstRequest();
        Assert.That(settled.IsCompleted, Is.False, "a connection has not sent its request yet");
        connection.MarkRequestStarted();
        Assert.That(settled.IsCompleted, Is.True);
        Assert.That((tracker.Active, tracker.AwaitingFirstRequest), Is.EqualTo((1, 0)));

        connection.Close();
        Assert.That((tracker.Active, tracker.AwaitingFirstRequest), Is.EqualTo((0, 0)));
    }

    [Test]
    public void A_connection_closed_before_any_request_settles_the_wait()
    {
        var tracker = new ConnectionTracker();
        var quiet = tracker.Open();
        var busy = tracker.Open();
        busy.MarkRequestStarted();

        var settled = tracker.WhenNoneAwaitingFirstRequest();
        Assert.That(settled.IsCompleted, Is.False);
        quiet.Close();
        Assert.That(settled.IsCompleted, Is.True);
        Assert.That(tracker.Active, Is.EqualTo(1));
    }

    [Test]
    public void Later_requests_and_repeated_closes_do_not_count_twice()
    {
        var tracker = new ConnectionTracker();
        var connection = tracker.Open();
        connection.MarkRequestStarted();
        connection.MarkRequestStarted();
        connection.Close();
        connection.Close();
        connection.MarkRequestStarted();
        Assert.That((tracker.Active, tracker.AwaitingFirstRequest), Is.EqualTo((0, 0)));
        Assert.That(tracker.WhenNoneAwaitingFirstRequest().IsCompleted, Is.True);
    }

    [Test]
    public void Racing_first_requests_and_closes_leave_the_counts_at_zero()
    {
        var tracker = new ConnectionTracker();
        var connections = Enumerable.Range(0, 2000).Select(_ => tracker.Open()).ToArray();
        Parallel.ForEach(connections, c =>
        {
            // Both orders, concurrently: whichever wins, each connection leaves the awaiting count exactly once.
            var start = Task.Run(c.MarkRequestStarted);
            c.Close();
            start.Wait();
        });
        Assert.That((tracker.Active, tracker.AwaitingFirstRequest), Is.EqualTo((0, 0)));
    }
}
