// The benchmarks' upstream when nginx is not installed: every GET gets the same short 200, nothing logged.
// `upstream soak-backend PORT`: the end-to-end tests' backend on 127.0.0.1:PORT until SIGTERM (bench/soak.sh).
if (args is ["soak-backend", var port])
{
    var backend = await Pingora.Proxy.Tests.Harness.TestBackend.StartAsync("upstream", port: int.Parse(port));
    var stop = new TaskCompletionSource();
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
        System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
    Console.WriteLine($"soak backend on {backend.Address}");
    await stop.Task;
    await backend.DisposeAsync();
    return;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var body = "hello from the bench upstream\n"u8.ToArray();
app.MapGet("/{**path}", (HttpContext context) =>
{
    context.Response.ContentType = "text/plain";
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.Run();
