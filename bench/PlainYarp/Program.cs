// The baseline of bench/compare.sh: YARP's documented few lines, with default settings. Routes, clusters and Kestrel
// endpoints come from appsettings.json and the command line (compare.sh sets the ports and the upstream there).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
var app = builder.Build();
app.MapReverseProxy();
app.Run();
