using System.Net;
using System.Runtime.InteropServices;
using Pingora.Proxy.Tests.Harness;

namespace LoadGen;

/// <summary>
/// <c>loadgen soak</c>: the end-to-end soak's traffic (<see cref="LoadClient"/>'s HTTP/1.1 keep-alive and
/// new-connection requests, and every kind of <see cref="SoakTraffic"/>) until SIGTERM or SIGINT, then one line per
/// kind for bench/soak.sh:
/// <c>SOAK kind=K responses=N completed=N sessions=N reconnects=N retried=N unanswered=N errors=N refused=N ...</c>
/// and <c>SOAK total responses=N errors=N</c> (responses: what the access log should hold, one line each).
/// </summary>
public static class SoakCommand
{
    public static async Task<int> RunAsync(Func<string, string?> flag)
    {
        static IPEndPoint EndPoint(string value) => IPEndPoint.Parse(value);
        var http1 = EndPoint(flag("http1") ?? throw new ArgumentException("--http1 ADDRESS:PORT is required"));
        var h2c = flag("h2c") is { } c ? new Uri($"http://{c}") : null;
        var h2 = flag("h2") is { } t ? new Uri($"https://{t}") : null;
        var maxDuration = TimeSpan.FromSeconds(double.Parse(flag("max-duration") ?? "3600"));
        const string small = "/bytes?n=4096";

        var stop = new TaskCompletionSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, s => { s.Cancel = true; stop.TrySetResult(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, s => { s.Cancel = true; stop.TrySetResult(); });

        await using var load = LoadClient.Start(new LoadClientOptions
        {
            BaseUri = new Uri($"http://{http1}"),
            Paths = ["/status", small],
            KeepAliveWorkers = int.Parse(flag("keepalive") ?? "4"),
            NewConnectionWorkers = int.Parse(flag("new-conn") ?? "2"),
            PauseBetweenRequests = TimeSpan.FromMilliseconds(double.Parse(flag("pause-ms") ?? "2")),
            MaxDuration = maxDuration,
            MaxRequests = long.MaxValue,
            BodyIsRight = (_, body) => body.Length == 4096 && BytePattern.FirstMismatch(body, 0) < 0,
        });
        await using var traffic = SoakTraffic.Start(new SoakTrafficOptions
        {
            Http1 = http1,
            H2c = h2c,
            H2Tls = h2,
            WebSockets = int.Parse(flag("websockets") ?? "4"),
            EventStreams = int.Parse(flag("sse") ?? "4"),
            SlowRequests = int.Parse(flag("slow") ?? "2"),
            Downloads = int.Parse(flag("downloads") ?? "2"),
            Uploads = int.Parse(flag("uploads") ?? "1"),
            MaxDuration = maxDuration,
        });
        Console.WriteLine($"loadgen soak: HTTP/1.1 {http1}, h2c {h2c?.Authority ?? "-"}, h2 over TLS {h2?.Authority ?? "-"}; until SIGTERM");

        await Task.WhenAny(stop.Task, Task.Delay(maxDuration));
        var mixed = await traffic.StopAsync();
        var http = await load.StopAsync();
        Console.WriteLine(http.Summary());
        Console.WriteLine(mixed.Summary());

        string Failures(IReadOnlyDictionary<FailureKind, long> failures) =>
            string.Join(' ', failures.Select(f => $"{FailureClassifier.Label(f.Key)}={f.Value}"));
        var httpResponses = http.Successes + http.Failures[FailureKind.NonSuccessStatus];
        Console.WriteLine($"SOAK kind=http1-keep-alive completed={http.SuccessesByWorker[WorkerKind.KeepAlive]}");
        Console.WriteLine($"SOAK kind=http1-new-connection completed={http.SuccessesByWorker[WorkerKind.NewConnection]}");
        Console.WriteLine($"SOAK kind=http1 responses={httpResponses} completed={http.Successes} errors={http.FailureCount} {Failures(http.Failures)}");
        foreach (var (kind, k) in mixed.Kinds)
        {
            Console.WriteLine($"SOAK kind={SoakKinds.Label(kind)} responses={k.Responses} completed={k.Completed} sessions={k.Sessions} " +
                              $"reconnects={k.Reconnects} retried={k.Retried} unanswered={k.Unanswered} errors={k.FailureCount} {Failures(k.Failures)}");
        }
        Console.WriteLine($"SOAK pids {string.Join(' ', http.Pids.Select(p => $"{p.Key}={p.Value}"))}");
        Console.WriteLine($"SOAK total responses={httpResponses + mixed.Responses} errors={http.FailureCount + mixed.FailureCount}" +
                          (http.HitLimit ? " (the load hit its time limit before the end)" : ""));
        return 0;
    }
}
