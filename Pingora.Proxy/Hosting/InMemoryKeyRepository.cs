using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Pingora.Proxy.Hosting;

/// <summary>
/// Data Protection's key storage when <c>session_affinity_keys_dir</c> is not set: keys live and die with the
/// process. Set as the key ring's repository, so that nothing falls back to the default one in $HOME (root's
/// /root/.aspnet/DataProtection-Keys, which the daemon cannot write once it runs as <c>user</c>).
/// </summary>
internal sealed class InMemoryKeyRepository : IXmlRepository
{
    private readonly Lock _lock = new();
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock) return _elements.Select(e => new XElement(e)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock) _elements.Add(new XElement(element));
    }
}
