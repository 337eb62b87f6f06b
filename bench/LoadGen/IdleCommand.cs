using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LoadGen;

/// <summary>
/// <c>loadgen idle --url http://127.0.0.1:PORT/PATH --connections N [--hold S]</c>: opens N keep-alive connections
/// one after another, each with one request whose whole response is read before the next connection opens (so the
/// server never holds more than one request's buffers: what stays is what an idle connection costs), prints
/// <c>IDLE open=N failed=N</c>, then holds them until SIGTERM or SIGINT, at most --hold seconds (default 120).
/// </summary>
public static class IdleCommand
{
    public static async Task<int> RunAsync(Func<string, string?> flag)
    {
        var url = new Uri(flag("url") ?? throw new ArgumentException("--url is required"));
        var count = int.Parse(flag("connections") ?? throw new ArgumentException("--connections is required"));
        var hold = TimeSpan.FromSeconds(double.Parse(flag("hold") ?? "120"));
        var endPoint = new IPEndPoint(IPAddress.Parse(url.Host), url.Port);
        var request = Worker.Request(url.PathAndQuery, url.Authority, close: false);

        var stop = new TaskCompletionSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, s => { s.Cancel = true; stop.TrySetResult(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, s => { s.Cancel = true; stop.TrySetResult(); });

        var open = new List<Socket>(count);
        var failed = 0;
        try
        {
            for (var i = 0; i < count && !stop.Task.IsCompleted; i++)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(endPoint, timeout.Token);
                    await socket.SendAsync(request, SocketFlags.None, timeout.Token);
                    var response = await new ResponseReader(socket).ReadAsync(headRequest: false, timeout.Token);
                    if (response.Close || response.Status is < 200 or >= 300) throw new ProtocolException($"status {response.Status}, close {response.Close}");
                    open.Add(socket);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or ProtocolException or ClosedEarlyException)
                {
                    socket.Dispose();
                    if (failed++ == 0) Console.Error.WriteLine($"loadgen idle: connection {i + 1}: {e.Message}");
                }
            }
            Console.WriteLine($"IDLE open={open.Count} failed={failed}");
            await stop.Task.WaitAsync(hold).ContinueWith(_ => { });
        }
        finally
        {
            foreach (var socket in open) socket.Dispose();
        }
        return failed == 0 ? 0 : 1;
    }
}
