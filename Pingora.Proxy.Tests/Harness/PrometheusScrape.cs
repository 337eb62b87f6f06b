using System.Globalization;
using System.Net.Http;
using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>One scrape of a Prometheus text endpoint: each sample by its series, as written
/// (<c>pingora_requests_total{route="r1",cluster="c1",method="GET",code="200"}</c>).</summary>
public sealed class PrometheusScrape(IReadOnlyDictionary<string, double> samples, string text)
{
    public string Text { get; } = text;

    public static async Task<PrometheusScrape> GetAsync(HttpClient client, Uri url)
    {
        using var response = await client.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), () => $"GET {url}: {text}");
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"), $"GET {url}: the Prometheus text format");
        return Parse(text);
    }

    public static PrometheusScrape Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return new PrometheusScrape(samples, text);
    }

    /// <summary>The sample's value, or null when the series is absent.</summary>
    public double? this[string series] => samples.TryGetValue(series, out var v) ? v : null;

    /// <summary>The value, failing with the whole scrape when the series is absent.</summary>
    public double Value(string series)
    {
        Assert.That(samples.ContainsKey(series), Is.True, () => $"no series {series} in the scrape:\n{Text}");
        return samples[series];
    }
}
