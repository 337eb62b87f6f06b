namespace Pingora.Proxy.Metrics;

/// <summary>The <c>code</c> label of each status code, made once: a label per request must not allocate a string.</summary>
internal static class StatusCodeLabels
{
    private static readonly string[] Labels = Enumerable.Range(0, 600).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static string Of(int code) => (uint)code < Labels.Length ? Labels[code] : code.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
