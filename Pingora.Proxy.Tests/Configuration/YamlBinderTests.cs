using System.Net.Http;
using System.Security.Authentication;
using NUnit.Framework;
using Pingora.Proxy.Configuration;

namespace Pingora.Proxy.Tests.Configuration;

[TestFixture]
public class YamlBinderTests
{
    private sealed record Sample
    {
        public string Name { get; init; } = "unset";
        public string? Note { get; init; } = "unset";
        public int Count { get; init; }
        public long Big { get; init; }
        public double Ratio { get; init; }
        public bool Flag { get; init; }
        public int? MaybeCount { get; init; } = 7;
        public TimeSpan? Span { get; init; }
        public Version? Version { get; init; }
        public Uri? Link { get; init; }
        public SslProtocols? Protocols { get; init; }
        public HttpVersionPolicy Policy { get; init; }
        public IReadOnlyList<string>? Tags { get; init; }
        public int[]? Numbers { get; init; }
        public List<double>? Weights { get; init; }
        public IReadOnlyDictionary<string, int>? Limits { get; init; }
        public Dictionary<string, string>? Labels { get; init; }
        public SampleChild? Child { get; init; }
        public IReadOnlyList<SampleChild>? Children { get; init; }
    }

    private sealed class SampleChild
    {
        public string Id { get; set; } = "";
        public int MaxRetries { get; set; }
    }

    // The binder builds only the types it is told of (so that it works in a Native AOT build); these are the samples'.
    static YamlBinderTests()
    {
        BindableTypes.Object<Sample>();
        BindableTypes.Object<SampleChild>();
        BindableTypes.ListOf<SampleChild>();
        BindableTypes.ListOf<int>();
        BindableTypes.ArrayOf<int>();
        BindableTypes.ListOf<double>();
        BindableTypes.DictionaryOf<int>();
    }

    private static (Sample Value, DiagnosticBag Diagnostics) Bind(string yaml)
    {
        var diagnostics = new DiagnosticBag("b.yaml");
        var root = YamlDocumentReader.Read(yaml, diagnostics);
        Assert.That(root, Is.Not.Null, string.Join("\n", diagnostics.Errors));
        var binder = new YamlBinder(diagnostics, new SourceMap(), new ScalarConverter());
        return (binder.BindObject<Sample>(root!, NodePath.Root), diagnostics);
    }

    private static Sample BindClean(string yaml)
    {
        var (value, diagnostics) = Bind(yaml);
        Assert.That(diagnostics.Errors, Is.Empty, string.Join("\n", diagnostics.Errors));
        Assert.That(diagnostics.Warnings, Is.Empty, string.Join("\n", diagnostics.Warnings));
        return value;
    }

    private static string OnlyError(string yaml)
    {
        var (_, diagnostics) = Bind(yaml);
        Assert.That(diagnostics.Errors, Has.Count.EqualTo(1), string.Join("\n", diagnostics.Errors));
        return diagnostics.Errors[0].ToString();
    }

    [Test]
    public void BindsScalarsIntoInitOnlyProperties_WithAnyKeySpelling()
    {
        var value = BindClean("""
            name: api
            note: "quoted"
            COUNT: 3
            big: 9000000000
            ratio: 0.25
            flag: True
            maybe_count: "12"
            span: 1.02:03:04
            version: 1.1
            link: http://example.com/x
            policy: requestversionexact
            """);
        Assert.That(value, Is.EqualTo(new Sample
        {
            Name = "api", Note = "quoted", Count = 3, Big = 9_000_000_000, Ratio = 0.25, Flag = true, MaybeCount = 12,
            Span = new TimeSpan(1, 2, 3, 4), Version = new Version(1, 1), Link = new Uri("http://example.com/x"),
            Policy = HttpVersionPolicy.RequestVersionExact,
        }));
    }

    [Test]
    public void FlagsEnum_FromListOrCommaSeparatedText()
    {
        Assert.That(BindClean("protocols: [tls12, Tls13]").Protocols, Is.EqualTo(SslProtocols.Tls12 | SslProtocols.Tls13));
        Assert.That(BindClean("protocols: Tls12, Tls13").Protocols, Is.EqualTo(SslProtocols.Tls12 | SslProtocols.Tls13));
        Assert.That(BindClean("protocols: []").Protocols, Is.EqualTo(SslProtocols.None));
    }

    [Test]
    public void FlagsEnum_BadItem_IsReportedAtTheItem()
    {
        Assert.That(OnlyError("protocols: [Tls12, Tls99]"), Does.StartWith("b.yaml:1:20: protocols[1]: expected one or more of None, Ssl2"));
    }

    [Test]
    public void Enum_RefusesNumbers()
    {
        Assert.That(OnlyError("policy: 2"),
            Is.EqualTo("b.yaml:1:9: policy: expected one of RequestVersionOrLower, RequestVersionOrHigher, RequestVersionExact, got '2'"));
    }

    [Test]
    public void Version_WithoutMinor_MeansDotZero()
    {
        Assert.That(BindClean("version: 2").Version, Is.EqualTo(new Version(2, 0)));
    }

    [Test]
    public void TimeSpan_BareNumberMeansDays_AndSaysSo()
    {
        var (value, diagnostics) = Bind("span: 30");
        Assert.That(value.Span, Is.EqualTo(TimeSpan.FromDays(30)));
        Assert.That(diagnostics.Errors, Is.Empty);
        Assert.That(diagnostics.Warnings.Single().ToString(), Is.EqualTo(
            "b.yaml:1:7: span: '30' is read as 30.00:00:00 (30 days, d.hh:mm:ss); for seconds write hh:mm:ss such as 00:00:30"));
    }

    [TestCase("count: abc", "b.yaml:1:8: count: expected an integer, got 'abc'")]
    [TestCase("count: 1.5", "b.yaml:1:8: count: expected an integer, got '1.5'")]
    [TestCase("count: 99999999999", "b.yaml:1:8: count: expected an integer between -2147483648 and 2147483647, got '99999999999'")]
    [TestCase("ratio: .nan", "b.yaml:1:8: ratio: expected a number, got '.nan'")]
    [TestCase("flag: yes", "b.yaml:1:7: flag: expected true or false, got 'yes'")]
    [TestCase("span: soon", "b.yaml:1:7: span: expected a duration as hh:mm:ss or d.hh:mm:ss, got 'soon'")]
    [TestCase("version: two", "b.yaml:1:10: version: expected a version such as 2.0, got 'two'")]
    [TestCase("count: { a: 1 }", "b.yaml:1:1: count: expected an integer, got a mapping")]
    [TestCase("name: [a, b]", "b.yaml:1:1: name: expected a string, got a list")]
    [TestCase("child: text", "b.yaml:1:8: child: expected a mapping, got 'text'")]
    [TestCase("tags: one", "b.yaml:1:7: tags: expected a list, got 'one'; for a list of one write [one]")]
    public void WrongValue_IsAnErrorNamingExpectedTypeAndValue(string yaml, string expected)
    {
        Assert.That(OnlyError(yaml), Is.EqualTo(expected));
    }

    [Test]
    public void NestedWrongKind_IsReportedAtItsKey()
    {
        Assert.That(OnlyError("note: x\nlabels:\n  - a\n  - b\n"), Is.EqualTo("b.yaml:2:1: labels: expected a mapping, got a list"));
    }

    [Test]
    public void EmptyValue_ForNonNullableTypes_IsAnError()
    {
        Assert.That(OnlyError("count: ~"), Is.EqualTo("b.yaml:1:8: count: expected an integer, got an empty value"));
        Assert.That(OnlyError("name:"), Is.EqualTo("b.yaml:1:6: name: expected a string, got an empty value"));
        Assert.That(OnlyError("tags: [a, null]"), Is.EqualTo("b.yaml:1:11: tags[1]: expected a string, got an empty value"));
    }

    [Test]
    public void EmptyValue_ForNullableTypes_SetsNull()
    {
        var value = BindClean("maybe_count: ~\nnote: null\n");
        Assert.That(value.MaybeCount, Is.Null);
        Assert.That(value.Note, Is.Null);
        Assert.That(BindClean("name: \"\"").Name, Is.EqualTo(""), "a quoted empty string is a string, not null");
    }

    [Test]
    public void ListsAndArrays()
    {
        var value = BindClean("tags: [a, b]\nnumbers: [1, 2, 3]\nweights:\n  - 0.5\n  - 2\n");
        Assert.That(value.Tags, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(value.Numbers, Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(value.Weights, Is.EqualTo(new[] { 0.5, 2.0 }));
    }

    [Test]
    public void BadListItems_AreEachReported_AndTheListIsNotHandedOn()
    {
        var (value, diagnostics) = Bind("numbers: [1, x, 3, y]");
        Assert.That(diagnostics.Errors.Select(e => e.ToString()), Is.EqualTo(new[]
        {
            "b.yaml:1:14: numbers[1]: expected an integer, got 'x'",
            "b.yaml:1:20: numbers[3]: expected an integer, got 'y'",
        }));
        // No consumer may meet a placeholder where the file had something else.
        Assert.That(value.Numbers, Is.Null);
        Assert.That(diagnostics.HasErrorsWithin("Numbers"), Is.True);
        Assert.That(diagnostics.HasErrorsWithin("Num"), Is.False);
    }

    [Test]
    public void Dictionaries_AreCaseInsensitive_AndRefuseKeysDifferingOnlyInCase()
    {
        var value = BindClean("limits: { a: 1, b: 2 }\nlabels: { Team: x }\n");
        Assert.That(value.Limits!["A"], Is.EqualTo(1));
        Assert.That(value.Limits["b"], Is.EqualTo(2));
        Assert.That(value.Labels!["team"], Is.EqualTo("x"));

        Assert.That(OnlyError("limits:\n  a: 1\n  A: 2\n"),
            Is.EqualTo("b.yaml:3:3: limits.A: duplicate key 'A': keys here compare case-insensitively and line 2 already has it"));
    }

    [Test]
    public void NestedObjectsAndListsOfObjects()
    {
        var value = BindClean("child: { id: c, max_retries: 2 }\nchildren:\n  - Id: x\n    MaxRetries: 1\n  - id: y\n");
        Assert.That((value.Child!.Id, value.Child.MaxRetries), Is.EqualTo(("c", 2)));
        Assert.That(value.Children!.Select(c => (c.Id, c.MaxRetries)), Is.EqualTo(new[] { ("x", 1), ("y", 0) }));
    }

    [Test]
    public void UnknownKey_IsAWarning_SuggestingInTheStyleWritten()
    {
        var (_, diagnostics) = Bind("child:\n  max_retrys: 1\n  MaxRetrys: 2\n  colour: blue\n");
        Assert.That(diagnostics.Errors, Is.Empty);
        Assert.That(diagnostics.Warnings.Select(w => w.ToString()), Is.EqualTo(new[]
        {
            "b.yaml:2:3: child.max_retrys: unknown key 'child.max_retrys'; did you mean 'max_retries'?",
            "b.yaml:3:3: child.MaxRetrys: unknown key 'child.MaxRetrys'; did you mean 'MaxRetries'?",
            "b.yaml:4:3: child.colour: unknown key 'child.colour'",
        }));
    }

    [Test]
    public void NonScalarKey_IsAnError()
    {
        Assert.That(OnlyError("? [a, b]\n: 1\n"), Is.EqualTo("b.yaml:1:3: -: expected a key name, got a list"));
    }

    [Test]
    public void SourceMap_LocatesMissingKeysAtTheirNearestAncestor()
    {
        var diagnostics = new DiagnosticBag("b.yaml");
        var map = new SourceMap();
        var root = YamlDocumentReader.Read("child:\n  id: c\n", diagnostics)!;
        map.RecordRoot(root);
        new YamlBinder(diagnostics, map, new ScalarConverter()).BindObject<Sample>(root, NodePath.Root);
        Assert.That(map.Locate("Child.Id"), Is.EqualTo(new SourceLocation(2, 7, "child.id")));
        Assert.That(map.Locate("Child.MaxRetries"), Is.EqualTo(new SourceLocation(1, 1, "child.MaxRetries")));
        Assert.That(map.Locate("Child.MaxRetries", "max_retries"), Is.EqualTo(new SourceLocation(1, 1, "child.max_retries")));
        Assert.That(map.Locate("Count", "count"), Is.EqualTo(new SourceLocation(1, 1, "count")));
    }
}
