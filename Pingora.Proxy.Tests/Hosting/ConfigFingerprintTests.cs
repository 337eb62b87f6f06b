using NUnit.Framework;
using Pingora.Proxy.Hosting;
using Yarp.ReverseProxy.Configuration;

namespace Pingora.Proxy.Tests.Hosting;

/// <summary>YARP applies an update only to entries whose records compare unequal; the stamp makes every change count.</summary>
[TestFixture]
public sealed class ConfigFingerprintTests
{
    private static RouteConfig Route(long? maxRequestBodySize = null, Dictionary<string, string>? metadata = null) => new()
    {
        RouteId = "r1",
        ClusterId = "c1",
        Match = new RouteMatch { Path = "/{**rest}" },
        MaxRequestBodySize = maxRequestBodySize,
        Metadata = metadata,
    };

    private static ClusterConfig Cluster(string address, string? loadBalancing = null) => new()
    {
        ClusterId = "c1",
        LoadBalancingPolicy = loadBalancing,
        Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = address } },
    };

    private static RouteConfig Stamped(RouteConfig route) => ConfigFingerprint.Stamp([route]).Single();
    private static ClusterConfig Stamped(ClusterConfig cluster) => ConfigFingerprint.Stamp([cluster]).Single();

    [Test]
    public void A_MaxRequestBodySize_change_alone_makes_the_route_unequal()
    {
        var before = Route(maxRequestBodySize: 1000);
        var after = Route(maxRequestBodySize: -1);
        Assert.That(after, Is.EqualTo(before), "YARP's RouteConfig.Equals ignores MaxRequestBodySize: the gap this closes");
        Assert.That(Stamped(after), Is.Not.EqualTo(Stamped(before)));
    }

    [Test]
    public void A_destination_path_case_change_alone_makes_the_destination_unequal()
    {
        var before = Cluster("http://10.0.0.1/Api/");
        var after = Cluster("http://10.0.0.1/api/");
        Assert.That(after.Destinations!["d1"], Is.EqualTo(before.Destinations!["d1"]), "YARP compares Address case-insensitively");
        Assert.That(Stamped(after).Destinations!["d1"], Is.Not.EqualTo(Stamped(before).Destinations!["d1"]));
    }

    [Test]
    public void Unchanged_entries_stay_equal_so_YARP_leaves_them_alone()
    {
        Assert.That(Stamped(Route(1000)), Is.EqualTo(Stamped(Route(1000))));
        Assert.That(Stamped(Cluster("http://10.0.0.1/")), Is.EqualTo(Stamped(Cluster("http://10.0.0.1/"))));
    }

    [Test]
    public void A_destination_change_leaves_the_cluster_itself_equal()
    {
        // YARP tracks destinations on their own; a new address must not also rebuild the cluster and its routes.
        var before = Stamped(Cluster("http://10.0.0.1/"));
        var after = Stamped(Cluster("http://10.0.0.2/"));
        Assert.That(after.Metadata, Is.EqualTo(before.Metadata));
        Assert.That(after.Destinations!["d1"], Is.Not.EqualTo(before.Destinations!["d1"]));
        Assert.That(Stamped(Cluster("http://10.0.0.1/", "RoundRobin")).Metadata, Is.Not.EqualTo(before.Metadata));
    }

    [Test]
    public void The_file_s_own_metadata_is_kept()
    {
        var stamped = Stamped(Route(metadata: new Dictionary<string, string> { ["team"] = "payments" }));
        Assert.That(stamped.Metadata!["team"], Is.EqualTo("payments"));
        Assert.That(stamped.Metadata[ConfigFingerprint.MetadataKey], Has.Length.EqualTo(64));
    }
}
