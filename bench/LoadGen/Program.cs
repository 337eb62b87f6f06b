using System.Globalization;
using System.Net;
using LoadGen;

// loadgen run    --url http://127.0.0.1:PORT/PATH [--keepalive N] [--new-conn N] [--duration S] [--rate R]
//                [--timeout S] [--records FILE] [--no-retry]
// loadgen idle   --url http://127.0.0.1:PORT/PATH --connections N [--hold S]   (see IdleCommand; until SIGTERM)
// loadgen soak   --http1 127.0.0.1:PORT [--h2c 127.0.0.1:PORT] [--h2 127.0.0.1:PORT] ...   (see SoakCommand; until SIGTERM)
// loadgen report --records FILE [--window NAME=FROM,TO]...     (FROM, TO: Unix seconds, as bash's $EPOCHREALTIME;
//                                                               either may be empty for "from the start"/"to the end")
// Every load is bounded: workers start no request after --duration, each request ends within --timeout, and the
// process exits by itself at the latest 5 s after that.

var culture = CultureInfo.InvariantCulture;
CultureInfo.DefaultThreadCurrentCulture = culture;
CultureInfo.CurrentCulture = culture;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: loadgen run --url http://127.0.0.1:PORT/ [--keepalive N] [--new-conn N] [--duration S] [--rate R] [--timeout S] [--records FILE] [--no-retry]");
    Console.Error.WriteLine("       loadgen report --records FILE [--window NAME=FROM,TO]...");
    Console.Error.WriteLine("       loadgen idle --url http://127.0.0.1:PORT/ --connections N [--hold S]");
    return 2;
}

var options = ParseFlags(args.Skip(1).ToArray());
return args[0] switch
{
    "run" => await RunAsync(options),
    "report" => Report(options),
    "soak" => await SoakCommand.RunAsync(name => One(options, name)),
    "idle" => await IdleCommand.RunAsync(name => One(options, name)),
    _ => Fail($"unknown command {args[0]}"),
};

static async Task<int> RunAsync(Dictionary<string, List<string>> flags)
{
    var url = new Uri(One(flags, "url") ?? throw new ArgumentException("--url is required"));
    if (url.Scheme != "http") return Fail("only http:// URLs (cleartext HTTP/1.1)");
    var options = new RunOptions(
        new IPEndPoint(IPAddress.Parse(url.Host), url.Port), url.Authority, url.PathAndQuery,
        KeepAliveConnections: int.Parse(One(flags, "keepalive") ?? "8"),
        NewConnectionWorkers: int.Parse(One(flags, "new-conn") ?? "0"),
        Duration: TimeSpan.FromSeconds(double.Parse(One(flags, "duration") ?? "10")),
        Rate: double.Parse(One(flags, "rate") ?? "0"),
        Timeout: TimeSpan.FromSeconds(double.Parse(One(flags, "timeout") ?? "5")),
        RetryIdleClosed: !flags.ContainsKey("no-retry"));
    var workers = options.KeepAliveConnections + options.NewConnectionWorkers;
    if (workers <= 0) return Fail("no workers: give --keepalive and/or --new-conn");

    // With a rate, each worker sends every workers/rate seconds, the workers' schedules staggered evenly.
    var intervalUs = options.Rate > 0 ? (long)(workers * 1_000_000.0 / options.Rate) : 0;
    var startUs = Clock.NowUs + 20_000;
    var endUs = startUs + (long)options.Duration.TotalMicroseconds;
    var all = Enumerable.Range(0, workers)
        .Select(i => new Worker(options, newConnection: i >= options.KeepAliveConnections, startUs, endUs,
            firstOffsetUs: intervalUs * i / workers, intervalUs))
        .ToArray();
    Console.WriteLine($"loadgen: {url} keep-alive connections {options.KeepAliveConnections}, new-connection workers {options.NewConnectionWorkers}, " +
                      $"{options.Duration.TotalSeconds:0.###} s, rate {(options.Rate > 0 ? options.Rate.ToString("0.#") + "/s" : "unlimited (closed loop)")}, " +
                      $"timeout {options.Timeout.TotalSeconds:0.###} s; start {startUs / 1e6:0.000000}");

    var running = Task.WhenAll(all.Select(w => Task.Run(w.RunAsync)));
    var limit = options.Duration + options.Timeout + TimeSpan.FromSeconds(5);
    try { await running.WaitAsync(limit); }
    catch (TimeoutException) { Console.Error.WriteLine($"loadgen: workers still busy {limit.TotalSeconds:0.#} s after the start; stopping anyway"); }

    // Records of workers that did not finish are read while they may still be written: stop them first.
    var parts = all.Select(w => { lock (w.Records) return w.Records.ToArray(); }).ToArray();
    if (One(flags, "records") is { } path) RecordFile.Write(path, parts);

    var summary = new Summary();
    foreach (var part in parts) foreach (var r in part) summary.Add(r);
    summary.Print(Console.Out, "all", options.Duration.TotalSeconds);
    Environment.Exit(0); // do not wait for stragglers after a hard stop
    return 0;
}

static int Report(Dictionary<string, List<string>> flags)
{
    var records = RecordFile.Read(One(flags, "records") ?? throw new ArgumentException("--records is required"));
    if (records.Length == 0) return Fail("no records");
    var first = records.Min(r => r.StartUs);
    var last = records.Max(r => r.StartUs);
    var windows = flags.GetValueOrDefault("window") ?? ["all=,"];
    foreach (var spec in windows)
    {
        var (name, from, to) = ParseWindow(spec, first, last);
        var summary = new Summary();
        foreach (var r in records)
            if (r.StartUs >= from && r.StartUs < to) summary.Add(r);
        summary.Print(Console.Out, name, (to - from) / 1e6);
    }
    return 0;
}

// NAME=FROM,TO with Unix seconds; an empty bound means the first or last request (last + 1 µs, so it is included).
static (string, long, long) ParseWindow(string spec, long first, long last)
{
    var eq = spec.IndexOf('=');
    var bounds = spec[(eq + 1)..].Split(',');
    if (eq <= 0 || bounds.Length != 2) throw new ArgumentException($"--window {spec}: expected NAME=FROM,TO");
    long Parse(string s, long otherwise) => s.Length == 0 ? otherwise : (long)(decimal.Parse(s, CultureInfo.InvariantCulture) * 1_000_000m);
    return (spec[..eq], Parse(bounds[0], first), Parse(bounds[1], last + 1));
}

static Dictionary<string, List<string>> ParseFlags(string[] args)
{
    var flags = new Dictionary<string, List<string>>();
    for (var i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--")) throw new ArgumentException($"unexpected argument {args[i]}");
        var name = args[i][2..];
        var value = name == "no-retry" ? "" : (i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{name} needs a value"));
        if (!flags.TryGetValue(name, out var list)) flags[name] = list = [];
        list.Add(value);
    }
    return flags;
}

static string? One(Dictionary<string, List<string>> flags, string name) => flags.TryGetValue(name, out var v) ? v[^1] : null;

static int Fail(string message)
{
    Console.Error.WriteLine($"loadgen: {message}");
    return 2;
}
