using System.Globalization;
using System.Net.Http;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>The request-response kinds of <see cref="SoakTraffic"/>: each worker sends one request at a time until
/// the traffic stops, and checks every body against what the backend sends.</summary>
internal static class SoakHttpWorkers
{
    private const int Http2BodyBytes = 16 * 1024;

    /// <summary>How a response checked out: null when right, else why not.</summary>
    private sealed record Wrong(FailureKind Kind, string Detail);

    public static async Task Http2Async(SoakTraffic t, SoakKind kind, HttpClient client, Uri baseUri)
    {
        var url = new Uri(baseUri, $"/bytes?n={Http2BodyBytes}");
        while (!t.Stopping.IsCancellationRequested)
        {
            await OneAsync(t, kind, async cancel =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                using var response = await t.SendAsync(kind, client, request, HttpCompletionOption.ResponseContentRead, cancel);
                t.Counters.Response(kind);
                var body = await response.Content.ReadAsByteArrayAsync(cancel);
                if (response.Version != System.Net.HttpVersion.Version20)
                    return new Wrong(FailureKind.Other, $"answered over HTTP/{response.Version}");
                return Status(response) ?? PatternBody(body, Http2BodyBytes);
            });
            try { await Task.Delay(t.Options.H2Pause, t.Stopping); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>8 MB read by a slow reader, checked against the pattern as it arrives.</summary>
    public static async Task DownloadAsync(SoakTraffic t, HttpClient client, Uri baseUri)
    {
        var size = t.Options.TransferBytes;
        var url = new Uri(baseUri, $"/bytes?n={size}");
        while (!t.Stopping.IsCancellationRequested)
        {
            await OneAsync(t, SoakKind.Download, async cancel =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                using var response = await t.SendAsync(SoakKind.Download, client, request, HttpCompletionOption.ResponseHeadersRead, cancel);
                t.Counters.Response(SoakKind.Download);
                if (Status(response) is { } wrong) return wrong;
                await using var body = new ThrottledStream(await response.Content.ReadAsStreamAsync(cancel),
                    t.Options.SlowReadBytes, t.Options.SlowReadPause);
                var buffer = new byte[t.Options.SlowReadBytes];
                long offset = 0;
                int n;
                while ((n = await body.ReadAsync(buffer, cancel)) > 0)
                {
                    var mismatch = BytePattern.FirstMismatch(buffer.AsSpan(0, n), offset);
                    if (mismatch >= 0) return new Wrong(FailureKind.WrongBody, $"byte {offset + mismatch} of {size} is wrong");
                    offset += n;
                }
                return offset == size ? null : new Wrong(FailureKind.WrongBody, $"{offset} bytes of {size}");
            });
        }
    }

    /// <summary>8 MB sent; the backend answers with the length and SHA-256 it received.</summary>
    public static async Task UploadAsync(SoakTraffic t, HttpClient client, Uri baseUri)
    {
        var url = new Uri(baseUri, "/upload");
        while (!t.Stopping.IsCancellationRequested)
        {
            await OneAsync(t, SoakKind.Upload, async cancel =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(t.UploadBody) };
                using var response = await t.SendAsync(SoakKind.Upload, client, request, HttpCompletionOption.ResponseContentRead, cancel);
                t.Counters.Response(SoakKind.Upload);
                var body = await response.Content.ReadAsStringAsync(cancel);
                if (Status(response) is { } wrong) return wrong;
                var sha = response.Headers.TryGetValues(TestBackend.BodySha256Header, out var values) ? values.FirstOrDefault() : null;
                return body == t.UploadBody.Length.ToString(CultureInfo.InvariantCulture) && sha == t.UploadSha256
                    ? null
                    : new Wrong(FailureKind.WrongBody, $"the backend received {body} bytes with SHA-256 {sha ?? "(none)"}");
            });
            try { await Task.Delay(t.Options.UploadPause, t.Stopping); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>An upstream that takes 2 s to answer.</summary>
    public static async Task SlowAsync(SoakTraffic t, HttpClient client, Uri baseUri)
    {
        var url = new Uri(baseUri, $"/delay?ms={(long)t.Options.SlowResponse.TotalMilliseconds}");
        while (!t.Stopping.IsCancellationRequested)
        {
            await OneAsync(t, SoakKind.SlowUpstream, async cancel =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                using var response = await t.SendAsync(SoakKind.SlowUpstream, client, request, HttpCompletionOption.ResponseContentRead, cancel);
                t.Counters.Response(SoakKind.SlowUpstream);
                var body = await response.Content.ReadAsStringAsync(cancel);
                return Status(response) ?? (body == "delayed" ? null : new Wrong(FailureKind.WrongBody, $"body '{body}'"));
            });
        }
    }

    private static async Task OneAsync(SoakTraffic t, SoakKind kind, Func<CancellationToken, Task<Wrong?>> request)
    {
        using var timeout = new CancellationTokenSource(t.Options.RequestTimeout);
        try
        {
            if (await request(timeout.Token) is { } wrong) t.Counters.Failure(kind, wrong.Kind, wrong.Detail);
            else t.Counters.Completed(kind);
        }
        catch (Exception e)
        {
            t.Fail(kind, e, timeout.IsCancellationRequested);
        }
    }

    private static Wrong? Status(HttpResponseMessage response) =>
        response.IsSuccessStatusCode ? null : new Wrong(FailureKind.NonSuccessStatus, $"HTTP {(int)response.StatusCode}");

    private static Wrong? PatternBody(byte[] body, int size)
    {
        if (body.Length != size) return new Wrong(FailureKind.WrongBody, $"{body.Length} bytes of {size}");
        var mismatch = BytePattern.FirstMismatch(body, 0);
        return mismatch < 0 ? null : new Wrong(FailureKind.WrongBody, $"byte {mismatch} of {size} is wrong");
    }
}
