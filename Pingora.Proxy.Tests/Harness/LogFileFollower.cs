using System.Text;
using System.Text.RegularExpressions;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// Follows the daemon's error_log file and hands complete lines to a callback. A file gives no readiness event a
/// test can await portably, so this is a bounded poll (every 50 ms) from the start of the file.
/// A predecessor and its successor share one error_log; with <c>onlyPid</c> set, lines that another pingora process
/// wrote (<c>pingora[OTHER]</c>) are skipped, along with their continuation lines.
/// </summary>
internal sealed partial class LogFileFollower : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    [GeneratedRegex(@"^\S+ \[\w+\] pingora\[(\d+)\]")]
    private static partial Regex LogHeader();

    private readonly string _path;
    private readonly Action<string> _onLine;
    private readonly Func<int?> _onlyPid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly StringBuilder _partial = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private long _offset;
    private bool _skippingForeign;

    public LogFileFollower(string path, Func<int?> onlyPid, Action<string> onLine)
    {
        _path = path;
        _onlyPid = onlyPid;
        _onLine = onLine;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Follows <paramref name="path"/> until it holds <paramref name="count"/> lines (an access log line can
    /// be written just after its response reached the client), bounded by <see cref="Timeouts.Phase"/>.</summary>
    public static async Task<List<string>> WaitForLinesAsync(string path, int count, PingoraProcess process)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (new LogFileFollower(path, () => null, line =>
        {
            lines.Enqueue(line);
            if (lines.Count >= count) enough.TrySetResult();
        }))
        {
            try
            {
                await enough.Task.WaitAsync(Timeouts.Phase);
            }
            catch (TimeoutException)
            {
                throw new HarnessTimeoutException($"{path}: {lines.Count} of {count} lines:\n{string.Join('\n', lines.TakeLast(20))}\n{process.LastLines()}");
            }
        }
        return lines.ToList();
    }

    /// <summary>Reads what is left once the writer has exited, then stops. A trailing line without a newline is
    /// delivered too: the process will not finish it.</summary>
    public async Task FinishAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        ReadAvailable();
        if (_partial.Length > 0)
        {
            Deliver(_partial.ToString());
            _partial.Clear();
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            ReadAvailable();
            await Task.Delay(PollInterval, _stop.Token);
        }
    }

    private void ReadAvailable()
    {
        if (!File.Exists(_path)) return;
        try
        {
            using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < _offset) _offset = 0; // truncated or replaced: start over
            stream.Seek(_offset, SeekOrigin.Begin);
            var bytes = new byte[64 * 1024];
            var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
            int read;
            while ((read = stream.Read(bytes, 0, bytes.Length)) > 0)
            {
                _offset += read;
                var count = _decoder.GetChars(bytes, 0, read, chars, 0);
                for (var i = 0; i < count; i++)
                {
                    if (chars[i] == '\n')
                    {
                        Deliver(_partial.ToString().TrimEnd('\r'));
                        _partial.Clear();
                    }
                    else
                    {
                        _partial.Append(chars[i]);
                    }
                }
            }
        }
        catch (IOException)
        {
            // Rotated or briefly locked between the existence check and the open; the next poll retries.
        }
    }

    private void Deliver(string line)
    {
        var only = _onlyPid();
        if (only is not null)
        {
            var header = LogHeader().Match(line);
            if (header.Success) _skippingForeign = header.Groups[1].Value != only.Value.ToString();
            if (_skippingForeign) return;
        }
        _onLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
