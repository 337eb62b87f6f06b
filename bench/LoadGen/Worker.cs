using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadGen;

/// <summary>Wall-clock microseconds (Unix epoch) with Stopwatch resolution, comparable with the shell's
/// $EPOCHREALTIME and with log timestamps.</summary>
public static class Clock
{
    private static readonly long OriginUs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
    private static readonly long OriginTicks = Stopwatch.GetTimestamp();

    public static long NowUs => OriginUs + (long)((Stopwatch.GetTimestamp() - OriginTicks) * (1_000_000.0 / Stopwatch.Frequency));
}

public sealed record RunOptions(
    IPEndPoint EndPoint, string HostHeader, string Path,
    int KeepAliveConnections, int NewConnectionWorkers,
    TimeSpan Duration, double Rate, TimeSpan Timeout, bool RetryIdleClosed);

/// <summary>
/// One closed-loop client: sends a request, reads the whole response, records it, repeats until the end time.
/// A keep-alive worker keeps its connection until the server closes it (or answers Connection: close); a
/// new-connection worker opens one per request. With a rate, requests start on a fixed schedule (no drift); when
/// late, the next one goes at once.
/// </summary>
public sealed class Worker(RunOptions options, bool newConnection, long startUs, long endUs, long firstOffsetUs, long intervalUs)
{
    private enum Step { Connect, Send, Receive }

    private readonly byte[] _request = Request(options.Path, options.HostHeader, close: newConnection);

    /// <summary>The GET every load of LoadGen sends.</summary>
    public static byte[] Request(string path, string host, bool close) => Encoding.ASCII.GetBytes(
        $"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pingora-bench-loadgen\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n");

    private Socket? _socket;
    private ResponseReader? _reader;
    private bool _reused;

    public List<Record> Records { get; } = new(4096);

    public async Task RunAsync()
    {
        var cts = new CancellationTokenSource();
        var next = startUs + firstOffsetUs;
        try
        {
            while (true)
            {
                if (intervalUs > 0)
                {
                    var wait = next - Clock.NowUs;
                    if (next >= endUs) break;
                    if (wait > 1000) await Task.Delay(TimeSpan.FromMicroseconds(wait));
                    next += intervalUs;
                }
                var start = Clock.NowUs;
                if (start >= endUs) break;

                cts.CancelAfter(options.Timeout);
                var (outcome, status, flags) = await OneRequestAsync(cts.Token);
                var latency = Clock.NowUs - start;
                if (newConnection) flags |= RecordFlags.NewConnection;
                lock (Records) Records.Add(new Record(start, (int)Math.Min(latency, int.MaxValue), outcome, flags, (short)status));
                if (!cts.TryReset()) { cts.Dispose(); cts = new CancellationTokenSource(); }
            }
        }
        finally
        {
            CloseConnection();
            cts.Dispose();
        }
    }

    private async Task<(Outcome, int, RecordFlags)> OneRequestAsync(CancellationToken cancel)
    {
        var flags = RecordFlags.None;
        for (var attempt = 0; ; attempt++)
        {
            var step = Step.Connect;
            try
            {
                if (_socket is null)
                {
                    _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    _reused = false;
                    await _socket.ConnectAsync(options.EndPoint, cancel);
                    _reader = new ResponseReader(_socket);
                }
                step = Step.Send;
                await _socket.SendAsync(_request, SocketFlags.None, cancel);
                step = Step.Receive;
                var response = await _reader!.ReadAsync(headRequest: false, cancel);
                if (response.Close || newConnection) CloseConnection();
                else _reused = true;
                return (response.Status is >= 200 and < 300 ? Outcome.Ok : Outcome.Non2xx, response.Status, flags);
            }
            catch (Exception e)
            {
                // A reused keep-alive connection that the server had already closed: nothing of a response arrived.
                // Every real client re-sends an idempotent request on a new connection; so do we, once.
                var idleClosed = _reused && step != Step.Connect && !(_reader?.AnyByte ?? false) &&
                                 (e is ClosedEarlyException or SocketException) && !cancel.IsCancellationRequested;
                CloseConnection();
                if (idleClosed && options.RetryIdleClosed && attempt == 0)
                {
                    flags |= RecordFlags.Retried;
                    continue;
                }
                return (Classify(e, step, cancel), 0, flags);
            }
        }
    }

    private static Outcome Classify(Exception e, Step step, CancellationToken cancel)
    {
        if (e is OperationCanceledException && cancel.IsCancellationRequested) return Outcome.Timeout;
        return step switch
        {
            Step.Connect => e is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? Outcome.ConnectRefused : Outcome.ConnectOther,
            Step.Send => Outcome.Write,
            _ => e switch
            {
                ClosedEarlyException => Outcome.ReadEof,
                SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted } => Outcome.ReadReset,
                SocketException { SocketErrorCode: SocketError.TimedOut } => Outcome.Timeout,
                _ => Outcome.ReadBad,
            },
        };
    }

    private void CloseConnection()
    {
        _socket?.Dispose();
        _socket = null;
        _reader = null;
        _reused = false;
    }
}
