using Pingora.Proxy.Native;
using Pingora.Proxy.Hosting;

// First, before the runtime registers any handler: signals inherited as ignored would never be delivered.
ProcessSignals.ResetInheritedDispositions();
// Before the first socket: the runtime reads these switches once.
InlineSocketCompletions.EnableUnlessSet();
return await Pingora.Proxy.Cli.Entry.RunAsync(args);
