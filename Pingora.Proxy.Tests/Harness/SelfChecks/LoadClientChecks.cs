using System.Net.Sockets;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness.SelfChecks;

/// <summary>The load client must classify each kind of failure correctly, or the end-to-end tests' "zero failures
/// of any kind" would be meaningless: these run it against real sockets that fail in each way.</summary>
[TestFixture]
[Category("Harness")]
public sealed class LoadClientChecks
{
    private static LoadClientOptions Options(Uri baseUri, string path = "/x", TimeSpan? requestTimeout = null) => new()
    {
        BaseUri = baseUri,
        Paths = [path],
        MaxRequests = 8,
        MaxDuration = TimeSpan.FromSeconds(30),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
    };

    private static async Task<LoadSnapshot> RunToLimitAsync(LoadClientOptions options)
    {
        await using var load = LoadClient.Start(options);
        await load.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        return load.Snapshot();
    }

    private static void AssertAllFailedAs(LoadSnapshot result, FailureKind kind)
    {
        Assert.That(result.Requests, Is.EqualTo(8), result.Summary());
        Assert.That(result.Failures[kind], Is.EqualTo(result.Requests), result.Summary());
        Assert.That(result.Successes, Is.Zero, result.Summary());
        Assert.That(result.HitLimit, Is.True, result.Summary());
    }

    [Test]
    public async Task Connection_to_a_closed_port_is_classified_as_refused()
    {
        var port = FreePort.Next();
        var result = await RunToLimitAsync(Options(new Uri($"http://127.0.0.1:{port}")));
        AssertAllFailedAs(result, FailureKind.Refused);
    }

    [Test]
    public async Task Abortive_close_after_the_request_is_classified_as_reset()
    {
        await using var server = new ScriptedTcpServer((client, _, _) =>
        {
            // SO_LINGER {on, 0}: close() sends RST, as a listener poisoned by an abortive dispose would.
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
            return Task.CompletedTask;
        });
        AssertAllFailedAs(await RunToLimitAsync(Options(server.BaseUri)), FailureKind.Reset);
    }

    [Test]
    public async Task Graceful_close_in_the_middle_of_a_body_is_classified_as_closed_early()
    {
        await using var server = new ScriptedTcpServer(async (client, stream, ct) =>
        {
            await ScriptedTcpServer.WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part", ct);
            client.Client.Shutdown(SocketShutdown.Send);
        });
        AssertAllFailedAs(await RunToLimitAsync(Options(server.BaseUri)), FailureKind.ClosedEarly);
    }

    [Test]
    public async Task Close_before_any_response_byte_is_classified_as_closed_early()
    {
        await using var server = new ScriptedTcpServer((client, _, _) =>
        {
            client.Client.Shutdown(SocketShutdown.Send);
            return Task.CompletedTask;
        });
        AssertAllFailedAs(await RunToLimitAsync(Options(server.BaseUri)), FailureKind.ClosedEarly);
    }

    [Test]
    public async Task A_server_that_never_answers_is_classified_as_timeout()
    {
        await using var server = new ScriptedTcpServer((_, _, ct) => Task.Delay(Timeout.Infinite, ct));
        var result = await RunToLimitAsync(Options(server.BaseUri, requestTimeout: TimeSpan.FromMilliseconds(300)));
        AssertAllFailedAs(result, FailureKind.Timeout);
    }

    [Test]
    public async Task A_404_is_classified_as_non_2xx_with_its_status()
    {
        await using var backend = await TestBackend.StartAsync("A");
        var result = await RunToLimitAsync(Options(backend.BaseUri, "/no-such-endpoint"));
        AssertAllFailedAs(result, FailureKind.NonSuccessStatus);
        Assert.That(result.NonSuccessStatuses, Does.ContainKey(404), result.Summary());
    }

    [Test]
    public async Task Successes_are_counted_per_worker_kind_and_per_backend()
    {
        await using var backend = await TestBackend.StartAsync("A");
        var result = await RunToLimitAsync(Options(backend.BaseUri, "/echo/load"));
        Assert.That(result.FailureCount, Is.Zero, result.Summary());
        Assert.That(result.Successes, Is.EqualTo(8), result.Summary());
        Assert.That(result.HitLimit, Is.True, result.Summary());
        Assert.That(result.AnsweredBy("A"), Is.EqualTo(8), result.Summary());
        Assert.That(result.SuccessesByWorker[WorkerKind.KeepAlive], Is.GreaterThan(0), result.Summary());
        Assert.That(result.SuccessesByWorker[WorkerKind.NewConnection], Is.GreaterThan(0), result.Summary());
    }

    [Test]
    public async Task Status_responses_are_counted_by_the_pid_they_name()
    {
        // Chunked on purpose: the raw client must decode it like the daemon's real responses may be.
        await using var server = new ScriptedTcpServer(async (_, stream, ct) =>
        {
            const string body = "{\"pid\":4242,\"version\":\"0\",\"state\":\"serving\"}";
            await ScriptedTcpServer.WriteAsync(stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                $"{body.Length:x}\r\n{body}\r\n0\r\n\r\n", ct);
        });
        var result = await RunToLimitAsync(Options(server.BaseUri, "/status"));
        Assert.That(result.FailureCount, Is.Zero, result.Summary());
        Assert.That(result.AnsweredBy(4242), Is.EqualTo(8), result.Summary());
    }

    [Test]
    public async Task Stop_lets_in_flight_requests_finish_instead_of_failing_them()
    {
        await using var backend = await TestBackend.StartAsync("A");
        await using var load = LoadClient.Start(new LoadClientOptions
        {
            BaseUri = backend.BaseUri,
            Paths = ["/slow?ms=1000&bytes=1000"],
            MaxDuration = TimeSpan.FromSeconds(30),
        });
        await backend.WaitForInFlightAsync(4, TimeSpan.FromSeconds(10));
        var result = await load.StopAsync();
        Assert.That(result.FailureCount, Is.Zero, result.Summary());
        Assert.That(result.Successes, Is.GreaterThanOrEqualTo(4), result.Summary());
        Assert.That(result.HitLimit, Is.False, result.Summary());
    }
}
