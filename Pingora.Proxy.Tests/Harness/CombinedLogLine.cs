using System.Text.RegularExpressions;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>One access log line in pingora's combined format: nginx's combined, the request time and the upstream.</summary>
public static partial class CombinedLogLine
{
    [GeneratedRegex("""^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(?<method>\S+) (?<target>\S+) (?<protocol>[^"]+)" (?<status>\d{3}) (?<bytes>\d+) "(?<referer>[^"]*)" "(?<agent>[^"]*)" (?<time>\d+\.\d{3}) (?<upstream>\S+)$""")]
    public static partial Regex Pattern();
}
