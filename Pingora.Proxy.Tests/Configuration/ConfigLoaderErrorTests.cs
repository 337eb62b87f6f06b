using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

/// <summary>One test per kind of mistake: each asserts the line, column, key path and message the user will see.</summary>
[TestFixture]
public class ConfigLoaderErrorTests
{
    private TestFiles _files = null!;

    [OneTimeSetUp]
    public void CreateFiles() => _files = new TestFiles();

    [OneTimeTearDown]
    public void DeleteFiles() => _files.Dispose();

    private const string Cluster = """
          Clusters:
            c1:
              Destinations:
                d1: { Address: "http://127.0.0.1:5000/" }
        """;

    private static ConfigDiagnostic SingleError(string yaml)
    {
        var result = ConfigLoader.Parse(yaml, "test.yaml");
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors, Has.Count.EqualTo(1), string.Join("\n", result.Errors));
        return result.Errors[0];
    }

    private static void AssertAt(ConfigDiagnostic d, int line, int column, string key)
    {
        Assert.That(d.File, Is.EqualTo("test.yaml"));
        Assert.That((d.Line, d.Column, d.Key), Is.EqualTo((line, column, key)), d.ToString());
    }

    [Test]
    public void YamlSyntaxError_HasLineAndColumn()
    {
        const string yaml = """
            version: 1
            threads: 2
            listeners:
              - address: "127.0.0.1:8080
            """;
        var error = SingleError(yaml);
        AssertAt(error, 4, 14, "-");
        Assert.That(error.Message, Does.StartWith("invalid YAML: "));
        Assert.That(error.Message, Does.Contain("quoted scalar"));
    }

    [Test]
    public void YamlBadIndentation_HasLineAndColumn()
    {
        const string yaml = """
            threads: 2
              pid_file: /tmp/x.pid
            listeners:
              - address: 127.0.0.1:8080
            """;
        var error = SingleError(yaml);
        Assert.That(error.Line, Is.EqualTo(2), error.ToString());
        Assert.That(error.Message, Does.StartWith("invalid YAML: "));
    }

    [Test]
    public void YamlUnclosedFlowList_IsAnErrorNotAnException()
    {
        const string yaml = """
            threads: 2
            listeners: [ { address: 127.0.0.1:8080 }
            pid_file: /tmp/x.pid
            """;
        var result = ConfigLoader.Parse(yaml, "test.yaml");
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Errors.Single().Line, Is.InRange(2, 3), result.Errors.Single().ToString());
    }

    [Test]
    public void AdminListenerOnAPublicListenersAddress_IsAnError()
    {
        const string yaml = """
            admin_listener: 127.0.0.1:9180
            listeners:
              - address: 127.0.0.1:8080
              - address: "127.0.0.1:9180"
            """;
        var error = SingleError(yaml);
        AssertAt(error, 1, 17, "admin_listener");
        Assert.That(error.Message, Is.EqualTo("127.0.0.1:9180 is also listeners[1].address on line 4: the admin listener needs an address of its own"));
    }

    [Test]
    public void AdminListenerThatIsNotAnAddress_IsAnError()
    {
        const string yaml = """
            admin_listener: localhost:9180
            listeners:
              - address: 127.0.0.1:8080
            """;
        AssertAt(SingleError(yaml), 1, 17, "admin_listener");
    }

    [Test]
    public void DuplicateYamlKey_IsAnError()
    {
        const string yaml = """
            threads: 2
            listeners:
              - address: 127.0.0.1:8080
            threads: 3
            """;
        var error = SingleError(yaml);
        Assert.That((error.Line, error.Column), Is.EqualTo((4, 1)));
        Assert.That(error.Message, Is.EqualTo("duplicate key 'threads'"));
    }

    [Test]
    public void SameSettingUnderTwoSpellings_IsADuplicateKey()
    {
        const string yaml = """
            grace_period_seconds: 10
            GracePeriodSeconds: 20
            listeners:
              - address: 127.0.0.1:8080
            """;
        var error = SingleError(yaml);
        AssertAt(error, 2, 1, "GracePeriodSeconds");
        Assert.That(error.Message, Is.EqualTo("duplicate key: 'GracePeriodSeconds' sets the same setting as 'grace_period_seconds' on line 1"));
    }

    [Test]
    public void WrongType_NamesPathLineColumnExpectedTypeAndValue()
    {
        const string yaml = """
            version: 1
            grace_period_seconds: abc
            listeners:
              - address: 127.0.0.1:8080
            """;
        var error = SingleError(yaml);
        AssertAt(error, 2, 23, "grace_period_seconds");
        Assert.That(error.Message, Is.EqualTo("expected a number, got 'abc'"));
        Assert.That(error.ToString(), Is.EqualTo("test.yaml:2:23: grace_period_seconds: expected a number, got 'abc'"));
    }

    [Test]
    public void WrongTypeInsideYarpSection_NamesTheFullKeyPath()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  ClusterId: c1
                  Order: first
                  Match: {"{"} Path: /api {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 7, 14, "ReverseProxy.Routes.r1.Order");
        Assert.That(error.Message, Is.EqualTo("expected an integer, got 'first'"));
    }

    [Test]
    public void EmptyValueForNonNullableValueType_IsAnError()
    {
        const string yaml = """
            threads:
            listeners:
              - address: 127.0.0.1:8080
            """;
        var error = SingleError(yaml);
        AssertAt(error, 1, 9, "threads");
        Assert.That(error.Message, Is.EqualTo("expected an integer, got an empty value"));
    }

    [Test]
    public void UnknownKey_IsAWarningWithSuggestion_AndTheConfigStillLoads()
    {
        var yaml = $"""
            treads: 2
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  ClusterId: c1
                  Ordr: 3
                  Match: {"{"} Path: /api {"}"}
            {Cluster}
            """;
        var result = ConfigLoader.Parse(yaml, "test.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        Assert.That(result.Warnings.Select(w => w.ToString()), Is.EqualTo(new[]
        {
            "test.yaml:1:1: treads: unknown key 'treads'; did you mean 'threads'?",
            "test.yaml:8:7: ReverseProxy.Routes.r1.Ordr: unknown key 'ReverseProxy.Routes.r1.Ordr'; did you mean 'Order'?",
        }));
        Assert.That(result.Config!.Server.Threads, Is.EqualTo(1));
        Assert.That(result.Config.Routes[0].Order, Is.Null);
    }

    [Test]
    public void RouteToUndefinedCluster_IsAnError()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  Match: {"{"} Path: /api {"}"}
                  ClusterId: c2
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 7, 18, "ReverseProxy.Routes.r1.ClusterId");
        Assert.That(error.Message, Is.EqualTo("cluster 'c2' is not defined in ReverseProxy.Clusters; did you mean 'c1'?"));
    }

    [Test]
    public void RouteWithoutClusterId_IsAnError()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  Match: {"{"} Path: /api {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 5, 5, "ReverseProxy.Routes.r1.ClusterId");
        Assert.That(error.Message, Does.StartWith("missing: route 'r1' must name the cluster"));
    }

    [Test]
    public void RouteIdsDifferingOnlyInCase_AreDuplicates()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1: {"{"} ClusterId: c1, Match: {"{"} Path: /a {"}"} {"}"}
                R1: {"{"} ClusterId: c1, Match: {"{"} Path: /b {"}"} {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 6, 5, "ReverseProxy.Routes.R1");
        Assert.That(error.Message, Is.EqualTo("duplicate route id 'R1': route ids compare case-insensitively and 'r1' on line 5 has the same id"));
    }

    [Test]
    public void ClusterIdsDifferingOnlyInCase_AreDuplicates()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Clusters:
                backend: { Destinations: { d1: { Address: "http://127.0.0.1:5000/" } } }
                Backend: { Destinations: { d1: { Address: "http://127.0.0.1:5001/" } } }
            """;
        var error = SingleError(yaml);
        AssertAt(error, 6, 5, "ReverseProxy.Clusters.Backend");
        Assert.That(error.Message, Does.StartWith("duplicate cluster id 'Backend'"));
    }

    [Test]
    public void DuplicateListenerAddress_ComparesNormalizedAddresses()
    {
        const string yaml = """
            listeners:
              - address: "[::]:8080"
              - address: 127.0.0.1:8081
              - address: "[0::0]:8080"
            """;
        var error = SingleError(yaml);
        AssertAt(error, 4, 14, "listeners[2].address");
        Assert.That(error.Message, Is.EqualTo("duplicate listener address [::]:8080: listeners[0].address on line 2 already listens there"));
    }

    [Test]
    public void BadListenerAddress_ReportsListenAddressMessage()
    {
        const string yaml = """
            version: 1
            listeners:
              - address: localhost:8080
            """;
        var error = SingleError(yaml);
        AssertAt(error, 3, 14, "listeners[0].address");
        Assert.That(error.Message, Is.EqualTo("'localhost:8080' is not an address of the form 0.0.0.0:8080 or [::]:8080"));
    }

    [Test]
    public void ListenerWithoutAddress_IsAnError()
    {
        const string yaml = """
            listeners:
              - protocols: [http1]
            """;
        var error = SingleError(yaml);
        AssertAt(error, 2, 5, "listeners[0].address");
        Assert.That(error.Message, Does.StartWith("missing: a listener needs an address"));
    }

    [Test]
    public void MissingListeners_IsAnError()
    {
        const string yaml = """
            version: 1
            threads: 2
            """;
        var error = SingleError(yaml);
        AssertAt(error, 1, 1, "listeners");
        Assert.That(error.Message, Does.Contain("at least one listener is required"));
    }

    [Test]
    public void EmptyListenerList_IsAnError()
    {
        var error = SingleError("threads: 2\nlisteners: []\n");
        AssertAt(error, 2, 1, "listeners");
        Assert.That(error.Message, Does.Contain("at least one listener is required"));
    }

    [Test]
    public void EmptyFile_IsAnError()
    {
        var error = SingleError("# nothing here\n");
        Assert.That(error.Key, Is.EqualTo("listeners"));
        Assert.That(error.Message, Does.Contain("the file is empty"));
    }

    [Test]
    public void UnknownProtocol_IsAnError()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
                protocols: [http1, h3]
            """;
        var error = SingleError(yaml);
        AssertAt(error, 3, 24, "listeners[0].protocols[1]");
        Assert.That(error.Message, Is.EqualTo("unknown protocol 'h3'; use http1 or http2"));
    }

    [Test]
    public void ProxyProtocolThatIsNotABoolean_IsAnError()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
                proxy_protocol: v2
            """;
        var error = SingleError(yaml);
        AssertAt(error, 3, 21, "listeners[0].proxy_protocol");
        Assert.That(error.Message, Does.Contain("'v2'"));
    }

    [Test]
    public void PlainHttp2_IsAcceptedSilently()
    {
        var result = ConfigLoader.Parse("listeners:\n  - address: 127.0.0.1:8080\n    protocols: [http2]\n", "test.yaml");
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Errors));
        Assert.That(result.Warnings, Is.Empty);
    }

    [Test]
    public void MissingTlsFile_IsAnError()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8443
                tls:
                  certificate_path: {_files.Directory}/missing.pem
                  key_path: {_files.KeyPath}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 4, 25, "listeners[0].tls.certificate_path");
        Assert.That(error.Message, Is.EqualTo($"file not found: {_files.Directory}/missing.pem"));
    }

    [Test]
    public void TlsWithoutKeyPath_IsAnError()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8443
                tls:
                  certificate_path: {_files.CertificatePath}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 3, 5, "listeners[0].tls.key_path");
        Assert.That(error.Message, Is.EqualTo("missing: the path of the PEM private key file"));
    }

    [Test]
    public void TlsFilesThatAreNotPem_ReportTheLoaderMessage()
    {
        var garbage = _files.Write("garbage.pem", "not a certificate\n");
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8443
                tls:
                  certificate_path: {garbage}
                  key_path: {_files.KeyPath}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 4, 25, "listeners[0].tls.certificate_path");
        Assert.That(error.Message, Does.StartWith("cannot load the PEM certificate with its key: "));
    }

    [Test]
    public void UnknownAffinityPolicy_IsReportedAtTheCluster()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Clusters:
                c1:
                  SessionAffinity: { Enabled: true, Policy: Sticky, AffinityKeyName: k }
                  Destinations: { d1: { Address: "http://127.0.0.1:5000/" } }
            """;
        var error = SingleError(yaml);
        // YARP's own validator refuses it; its findings are placed at the cluster they concern.
        AssertAt(error, 5, 5, "ReverseProxy.Clusters.c1");
        Assert.That(error.Message, Does.Contain("Sticky"));
    }

    [TestCase("AuthorizationPolicy: admins")]
    public void AuthorizationPolicy_IsNotSupported(string line)
    {
        var key = line[..line.IndexOf(':')];
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  ClusterId: c1
                  {line}
                  Match: {"{"} Path: /api {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 7, 7, $"ReverseProxy.Routes.r1.{key}");
        Assert.That(error.Message, Does.StartWith("not supported: 'AuthorizationPolicy' needs an authenticated user, and no authentication scheme is configurable"));
    }

    [Test]
    public void RouteIdInsideTheRoute_IsAnError()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                r1:
                  RouteId: r1
                  ClusterId: c1
                  Match: {"{"} Path: /api {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 6, 7, "ReverseProxy.Routes.r1.RouteId");
        Assert.That(error.Message, Does.StartWith("the route id is this entry's key ('r1')"));
    }

    [Test]
    public void RoutesAsAList_IsAnErrorExplainingYarp2Shape()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                - ClusterId: c1
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 4, 3, "ReverseProxy.Routes");
        Assert.That(error.Message, Does.StartWith("expected a mapping of route id to route, got a list"));
    }

    [Test]
    public void YarpValidatorError_IsMappedToItsRouteLine()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                good:
                  ClusterId: c1
                  Match: {"{"} Path: /ok {"}"}
                nopath:
                  ClusterId: c1
                  Match:
                    Methods: [GET]
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 8, 5, "ReverseProxy.Routes.nopath");
        Assert.That(error.Message, Does.Contain("Route 'nopath' requires Hosts or Path specified"));
    }

    [Test]
    public void YarpValidatorError_InvalidPathTemplate_IncludesYarpsReason()
    {
        var yaml = $"""
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Routes:
                broken:
                  ClusterId: c1
                  Match: {"{"} Path: "/api/{"{"}id" {"}"}
            {Cluster}
            """;
        var error = SingleError(yaml);
        AssertAt(error, 5, 5, "ReverseProxy.Routes.broken");
        Assert.That(error.Message, Does.StartWith("Invalid path '/api/{id' for route 'broken'."));
        Assert.That(error.Message, Does.Contain("incomplete parameter"));
    }

    [Test]
    public void YarpValidatorError_UnknownLoadBalancingPolicy_IsMappedToItsClusterLine()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Clusters:
                c1:
                  LoadBalancingPolicy: Fastest
                  Destinations: { d1: { Address: "http://127.0.0.1:5000/" } }
            """;
        var error = SingleError(yaml);
        AssertAt(error, 5, 5, "ReverseProxy.Clusters.c1");
        Assert.That(error.Message, Does.Contain("load balancing policy 'Fastest'"));
    }

    [Test]
    public void MalformedDestinationAddress_IsAnError()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Clusters:
                c1:
                  Destinations:
                    d1:
                      Address: 10.0.0.1:5000
            """;
        var error = SingleError(yaml);
        AssertAt(error, 8, 20, "ReverseProxy.Clusters.c1.Destinations.d1.Address");
        Assert.That(error.Message, Is.EqualTo("expected an absolute http:// or https:// URI, got '10.0.0.1:5000'"));
    }

    [Test]
    public void DestinationWithoutAddress_IsReportedByYarpAtTheClusterLine()
    {
        const string yaml = """
            listeners:
              - address: 127.0.0.1:8080
            ReverseProxy:
              Clusters:
                c1:
                  Destinations:
                    d1: { Health: "http://10.0.0.1:5001/" }
            """;
        var error = SingleError(yaml);
        AssertAt(error, 5, 5, "ReverseProxy.Clusters.c1");
        Assert.That(error.Message, Is.EqualTo("No address found for destination 'd1' on cluster 'c1'."));
    }

    [Test]
    public void VersionOtherThanOne_IsAnError()
    {
        var error = SingleError("version: 2\nlisteners:\n  - address: 127.0.0.1:8080\n");
        AssertAt(error, 1, 10, "version");
        Assert.That(error.Message, Is.EqualTo("must be 1, got 2"));
    }

    [Test]
    public void ServerRanges_AreAllReportedInOnePass()
    {
        const string yaml = """
            threads: 0
            grace_period_seconds: 0
            graceful_shutdown_timeout_seconds: 0
            close_timeout_seconds: 0
            upgrade_ack_timeout_seconds: -1
            daemon_ready_timeout_seconds: 99999999
            log_level: chatty
            status_path: status
            pid_file: ""
            upgrade_sock: " "
            listeners:
              - address: 127.0.0.1:8080
            """;
        var result = ConfigLoader.Parse(yaml, "test.yaml");
        Assert.That(result.Errors.Select(e => $"{e.Line}:{e.Column} {e.Key}: {e.Message}"), Is.EqualTo(new[]
        {
            "1:10 threads: must be at least 1, got 0",
            "4:24 close_timeout_seconds: must be greater than 0, got 0",
            "5:30 upgrade_ack_timeout_seconds: must be greater than 0, got -1",
            "6:31 daemon_ready_timeout_seconds: must be at most 4294967 (about 49 days, the longest .NET timers wait), got 99999999",
            "7:12 log_level: must be one of verbose, debug, information, warning, error, fatal, got 'chatty'",
            "8:14 status_path: must start with '/', got 'status'",
            "9:11 pid_file: must not be empty",
            "10:15 upgrade_sock: must not be empty",
        }));
    }

    [Test]
    public void SeveralMistakes_AreAllReported_InFileOrder()
    {
        var yaml = $"""
            threads: many
            listeners:
              - address: nowhere
            ReverseProxy:
              Routes:
                r1:
                  ClusterId: missing
                  Match: {"{"} Path: /a {"}"}
                r2:
                  ClusterId: c1
                  Match: {"{"} Methods: [GET] {"}"}
            {Cluster}
            """;
        var result = ConfigLoader.Parse(yaml, "test.yaml");
        Assert.That(result.Errors.Select(e => (e.Line, e.Key)), Is.EqualTo(new[]
        {
            (1, "threads"),
            (3, "listeners[0].address"),
            (7, "ReverseProxy.Routes.r1.ClusterId"),
            (9, "ReverseProxy.Routes.r2"),
        }));
    }

    [Test]
    public void TopLevelList_IsAnError()
    {
        var error = SingleError("- address: 127.0.0.1:8080\n");
        AssertAt(error, 1, 1, "-");
        Assert.That(error.Message, Does.StartWith("the top level must be a mapping of keys"));
    }

    [Test]
    public void SecondYamlDocument_IsAnError()
    {
        var error = SingleError("listeners:\n  - address: 127.0.0.1:8080\n---\nthreads: 2\n");
        AssertAt(error, 4, 1, "-");
        Assert.That(error.Message, Does.StartWith("the file holds more than one YAML document"));
    }

    [Test]
    public void Load_MissingFile_IsAnErrorNotAnException()
    {
        var path = Path.Combine(_files.Directory, "absent.yaml");
        var result = ConfigLoader.Load(path);
        Assert.That(result.Ok, Is.False);
        var error = result.Errors.Single();
        Assert.That((error.File, error.Line, error.Column, error.Key), Is.EqualTo((path, 0, 0, "-")));
        Assert.That(error.Message, Does.StartWith("cannot read the configuration file: "));
        Assert.That(error.Message, Does.Contain("absent.yaml"));
    }
}
