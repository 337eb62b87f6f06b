using System.Runtime.InteropServices;

namespace LoadGen;

/// <summary>How one request ended. Grouped in reports as connect, read, write, timeout and non-2xx, like wrk's
/// "Socket errors" line, but finer: refused and reset are the failures a broken listener handoff produces.</summary>
public enum Outcome : byte
{
    Ok,
    ConnectRefused,   // nobody listening, or the accept queue was destroyed
    ConnectOther,     // any other connect() failure
    Write,            // sending the request failed (EPIPE, reset)
    ReadReset,        // ECONNRESET while waiting for or reading the response
    ReadEof,          // the server closed the connection before the response was complete
    Timeout,          // no complete response within --timeout (connect included)
    Non2xx,           // a complete response with a status outside 200-299
    ReadBad,          // any other read failure: an unparsable response, another socket error
}

/// <summary>One request: when it was sent (Unix time, microseconds), how long until the response was complete, how
/// it ended. 16 bytes, so a few million fit in memory and on disk.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct Record(long StartUs, int LatencyUs, Outcome Outcome, RecordFlags Flags, short Status)
{
    public const int Size = 16;
}

[Flags]
public enum RecordFlags : byte
{
    None = 0,
    NewConnection = 1,
    /// <summary>The first attempt went out on a reused keep-alive connection that the server had closed (EOF or
    /// reset before any byte of a response) and was sent again on a new connection, as browsers and HttpClient do.
    /// The record describes the second attempt.</summary>
    Retried = 2,
}

public static class RecordFile
{
    public static void Write(string path, IEnumerable<Record[]> parts)
    {
        using var stream = File.Create(path);
        foreach (var part in parts)
            stream.Write(MemoryMarshal.AsBytes(part.AsSpan()));
    }

    public static Record[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % Record.Size != 0) throw new InvalidDataException($"{path}: not a record file ({bytes.Length} bytes)");
        return MemoryMarshal.Cast<byte, Record>(bytes).ToArray();
    }
}

/// <summary>Counts by outcome and latency percentiles (of successful requests) over a set of records.</summary>
public sealed class Summary
{
    private readonly long[] _counts = new long[Enum.GetValues<Outcome>().Length];
    private readonly List<int> _latencies = [];

    public long Requests { get; private set; }
    public long Retried { get; private set; }

    public void Add(in Record r)
    {
        Requests++;
        if ((r.Flags & RecordFlags.Retried) != 0) Retried++;
        _counts[(int)r.Outcome]++;
        if (r.Outcome == Outcome.Ok) _latencies.Add(r.LatencyUs);
    }

    public long this[Outcome o] => _counts[(int)o];
    public long Ok => this[Outcome.Ok];
    public long Errors => Requests - Ok;

    public double PercentileMs(double p)
    {
        if (_latencies.Count == 0) return double.NaN;
        _latencies.Sort();
        var rank = (int)Math.Ceiling(p / 100.0 * _latencies.Count) - 1;
        return _latencies[Math.Clamp(rank, 0, _latencies.Count - 1)] / 1000.0;
    }

    public double MaxMs => _latencies.Count == 0 ? double.NaN : _latencies.Max() / 1000.0;

    public string ErrorLine() =>
        $"connect {this[Outcome.ConnectRefused] + this[Outcome.ConnectOther]} (refused {this[Outcome.ConnectRefused]}, other {this[Outcome.ConnectOther]}), " +
        $"read {this[Outcome.ReadReset] + this[Outcome.ReadEof] + this[Outcome.ReadBad]} (reset {this[Outcome.ReadReset]}, closed early {this[Outcome.ReadEof]}, other {this[Outcome.ReadBad]}), " +
        $"write {this[Outcome.Write]}, timeout {this[Outcome.Timeout]}, non-2xx {this[Outcome.Non2xx]}";

    /// <summary>One line of key=value pairs for scripts.</summary>
    public string ResultLine(string name, double seconds) => string.Join(' ',
        $"RESULT window={name}",
        $"requests={Requests}", $"ok={Ok}", $"rps={Requests / Math.Max(seconds, 1e-9):0.0}",
        $"p50_ms={PercentileMs(50):0.000}", $"p99_ms={PercentileMs(99):0.000}", $"max_ms={MaxMs:0.000}",
        $"errors={Errors}",
        $"connect={this[Outcome.ConnectRefused] + this[Outcome.ConnectOther]}", $"refused={this[Outcome.ConnectRefused]}",
        $"read={this[Outcome.ReadReset] + this[Outcome.ReadEof] + this[Outcome.ReadBad]}", $"reset={this[Outcome.ReadReset]}",
        $"write={this[Outcome.Write]}", $"timeout={this[Outcome.Timeout]}", $"non2xx={this[Outcome.Non2xx]}",
        $"retried={Retried}", $"seconds={seconds:0.000}");

    public void Print(TextWriter o, string name, double seconds)
    {
        o.WriteLine($"[{name}] {seconds:0.000} s: {Requests} requests ({Requests / Math.Max(seconds, 1e-9):0.0}/s), {Ok} ok, {Errors} errors");
        o.WriteLine($"[{name}]   errors: {ErrorLine()}");
        o.WriteLine($"[{name}]   keep-alive connections the server had closed while idle (request re-sent on a new connection, not an error): {Retried}");
        o.WriteLine($"[{name}]   latency ms (ok): p50 {PercentileMs(50):0.000}  p90 {PercentileMs(90):0.000}  p99 {PercentileMs(99):0.000}  max {MaxMs:0.000}");
        o.WriteLine(ResultLine(name, seconds));
    }
}
