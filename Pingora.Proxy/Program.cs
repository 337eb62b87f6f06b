using Pingora.Proxy.Native;

// First, before the runtime registers any handler: signals inherited as ignored would never be delivered.
Libc.ResetInheritedSignalDispositions();
return await Pingora.Proxy.Cli.Entry.RunAsync(args);
