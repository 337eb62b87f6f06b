using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Pingora.Proxy.ProxyProtocol;
using Pingora.Proxy.Tests.Harness;

namespace Pingora.Proxy.Tests.ProxyProtocol;

/// <summary>The middleware on an in-memory connection: what the next middleware sees, and what is closed.</summary>
public class ProxyProtocolMiddlewareTests
{
    private static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(5);
    private static readonly IPEndPoint Balancer = IPEndPoint.Parse("10.0.0.5:40001");
    private static readonly IPEndPoint Listener = IPEndPoint.Parse("10.0.0.1:80");
    private static readonly IPEndPoint Client = IPEndPoint.Parse("192.0.2.10:56324");
    private static readonly IPEndPoint Server = IPEndPoint.Parse("198.51.100.2:443");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private FakeTimeProvider _time = null!;
    private ListLogger _logger = null!;
    private Pipe _wire = null!;
    private TaskCompletionSource<(EndPoint? Remote, EndPoint? Local, byte[] Data)> _next = null!;
    private RejectionLog _rejections = null!;
    private DefaultConnectionContext _connection = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider();
        _logger = new ListLogger();
        _wire = new Pipe();
        _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _rejections = new RejectionLog(_logger, "10.0.0.1:80", _time);
        var application = new Pipe();
        _connection = new DefaultConnectionContext("c1", new DuplexPipe(_wire.Reader, application.Writer), new DuplexPipe(application.Reader, _wire.Writer))
        {
            RemoteEndPoint = Balancer,
            LocalEndPoint = Listener,
        };
    }

    [TearDown]
    public void TearDown() => _rejections.Dispose();

    [Test]
    public async Task A_header_split_across_reads_sets_the_endpoints_and_leaves_the_request_in_the_pipe()
    {
        var header = ProxyHeaders.V2(Client, Server, ProxyHeaders.Tlv(0x04, new byte[100]));
        var running = Run();

        await _wire.Writer.WriteAsync(header.AsMemory(0, 10));
        await _wire.Writer.WriteAsync(header.AsMemory(10, 30));
        Assert.That(_next.Task.IsCompleted, Is.False, "40 bytes of a longer header are not enough");
        await _wire.Writer.WriteAsync(header.AsMemory(40).ToArray().Concat("GET / HTTP/1.1\r\n"u8.ToArray()).ToArray());
        await _wire.Writer.CompleteAsync();

        var (remote, local, rest) = await _next.Task.WaitAsync(Bound);
        await running.WaitAsync(Bound);
        Assert.That(remote, Is.EqualTo(Client));
        Assert.That(local, Is.EqualTo(Server));
        Assert.That(rest, Is.EqualTo("GET / HTTP/1.1\r\n"u8.ToArray()), "exactly the header was consumed");
        Assert.That(_logger.Lines, Is.Empty);
    }

    [Test]
    public async Task A_v2_LOCAL_header_keeps_the_socket_endpoints()
    {
        var running = Run();
        await _wire.Writer.WriteAsync(ProxyHeaders.V2Raw(0x20, 0x00, []));
        await _wire.Writer.CompleteAsync();

        var (remote, local, rest) = await _next.Task.WaitAsync(Bound);
        await running.WaitAsync(Bound);
        Assert.That(remote, Is.EqualTo(Balancer));
        Assert.That(local, Is.EqualTo(Listener));
        Assert.That(rest, Is.Empty);
    }

    [Test]
    public async Task A_malformed_header_closes_the_connection_unseen_and_is_logged()
    {
        var running = Run();
        await _wire.Writer.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        await running.WaitAsync(Bound);
        Assert.That(_next.Task.IsCompleted, Is.False, "the HTTP side never saw the connection");
        Assert.That(_logger.Lines, Has.Count.EqualTo(1));
        Assert.That(_logger.Lines[0], Does.Contain("10.0.0.5:40001").And.Contain("no PROXY protocol header"));
    }

    [Test]
    public async Task A_header_not_complete_within_the_deadline_closes_the_connection()
    {
        var running = Run();
        await _wire.Writer.WriteAsync("PROXY TCP4 192.0.2.10 "u8.ToArray());
        await Task.Yield();
        Assert.That(running.IsCompleted, Is.False);

        _time.Advance(HeaderTimeout);

        await running.WaitAsync(Bound);
        Assert.That(_next.Task.IsCompleted, Is.False);
        // How many of the 22 bytes the middleware had read when the clock moved depends on scheduling; the close does not.
        Assert.That(_logger.Lines.Single(), Does.Match(@"no complete PROXY header within 5 s \((0|22) bytes received\)"));
    }

    [Test]
    public async Task A_peer_closing_mid_header_is_logged_and_one_closing_before_a_byte_is_not()
    {
        var running = Run();
        await _wire.Writer.WriteAsync("PROXY TCP4"u8.ToArray());
        await _wire.Writer.CompleteAsync();
        await running.WaitAsync(Bound);
        Assert.That(_logger.Lines.Single(), Does.Contain("closed after 10 bytes"));

        TearDown();
        SetUp();
        var silent = Run();
        await _wire.Writer.CompleteAsync();
        await silent.WaitAsync(Bound);
        Assert.That(_next.Task.IsCompleted, Is.False);
        Assert.That(_logger.Lines, Is.Empty, "a connect-and-close (a TCP health check) is not a bad header");
    }

    private Task Run()
    {
        var next = _next;
        var middleware = new ProxyProtocolMiddleware(async connection =>
        {
            var rest = new List<byte>();
            while (true)
            {
                var read = await connection.Transport.Input.ReadAsync();
                rest.AddRange(read.Buffer.ToArray());
                connection.Transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) break;
            }
            next.TrySetResult((connection.RemoteEndPoint, connection.LocalEndPoint, rest.ToArray()));
        }, _rejections, HeaderTimeout, _time);
        return middleware.OnConnectionAsync(_connection);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
