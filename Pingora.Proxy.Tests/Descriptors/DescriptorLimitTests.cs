using NUnit.Framework;
using Pingora.Proxy.Descriptors;

namespace Pingora.Proxy.Tests.Descriptors;

[TestFixture]
public sealed class DescriptorLimitTests
{
    [TestCase("Max open files            256                  4096                 files", 256)]
    [TestCase("Max open files            unlimited            unlimited            files", null)]
    public void The_soft_limit_is_read_from_the_kernels_limits_table(string line, int? expected)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["Limit                     Soft Limit           Hard Limit           Units", "Max processes             100                  100                  processes", line]);
            Assert.That(DescriptorLimit.Read(path), Is.EqualTo(expected));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void This_process_has_a_limit() => Assert.That(DescriptorLimit.Read(), Is.GreaterThan(0));

    [Test]
    public void The_lowest_free_descriptor_is_the_one_the_next_open_gets()
    {
        var lowest = DescriptorReserve.LowestFree(0);
        Assert.That(lowest, Is.GreaterThan(2));
        Assert.That(File.Exists($"/proc/self/fd/{lowest}"), Is.False, "the probe closes what it opened");
        using var file = File.OpenRead("/dev/null");
        Assert.That((int)file.SafeFileHandle.DangerousGetHandle(), Is.EqualTo(lowest));
    }
}
