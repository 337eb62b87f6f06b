// The benchmarks' upstream when nginx is not installed: every GET gets the same short 200, nothing logged.
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
