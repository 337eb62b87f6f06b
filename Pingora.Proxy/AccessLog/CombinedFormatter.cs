using System.Buffers;

namespace Pingora.Proxy.AccessLog;

/// <summary>
/// nginx's combined format, field for field, so that tools that parse nginx lines (goaccess, fail2ban, log shippers)
/// read ours: <c>$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
/// "$http_user_agent"</c>, then the request time in seconds and the upstream (the destination's address, or -).
/// </summary>
public static class CombinedFormatter
{
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public static void Format(in AccessLogEntry e, IBufferWriter<byte> output)
    {
        output.Address(e.ClientAddress);
        output.Ascii(" - - [");   // $remote_user: pingora authenticates no one
        TimeLocal(e.Time, output);
        output.Ascii("] \"");
        // $request is the request line: method, target and protocol, escaped as one value.
        output.NginxEscaped(e.Method);
        output.Byte((byte)' ');
        output.NginxEscaped(e.Target);
        output.Byte((byte)' ');
        output.NginxEscaped(e.Protocol);
        output.Ascii("\" ");
        output.Number(e.Status);
        output.Byte((byte)' ');
        output.Number(e.BytesSent);
        output.Ascii(" \"");
        output.NginxEscaped(e.Referer);
        output.Ascii("\" \"");
        output.NginxEscaped(e.UserAgent);
        output.Ascii("\" ");
        output.Seconds(e.Duration);
        output.Byte((byte)' ');
        output.NginxEscaped(e.Destination);
        output.Byte((byte)'\n');
    }

    private const int TimeLocalLength = 26;
    // A line's time changes only with the second: formatted once a second per thread, as nginx caches its own.
    [ThreadStatic] private static byte[]? t_timeLocal;
    [ThreadStatic] private static (long Second, TimeSpan Offset) t_timeLocalOf;

    /// <summary>nginx's $time_local: <c>01/Dec/2026:09:58:29 +0100</c>.</summary>
    private static void TimeLocal(DateTimeOffset t, IBufferWriter<byte> output)
    {
        var of = (t.UtcTicks / TimeSpan.TicksPerSecond, t.Offset);
        if (t_timeLocal is not { } text || t_timeLocalOf != of)
        {
            var writer = new ArrayBufferWriter<byte>(TimeLocalLength);
            FormatTimeLocal(t, writer);
            text = t_timeLocal = writer.WrittenSpan.ToArray();
            t_timeLocalOf = of;
        }
        output.Write(text);
    }

    private static void FormatTimeLocal(DateTimeOffset t, IBufferWriter<byte> output)
    {
        output.Digits(t.Day, 2);
        output.Byte((byte)'/');
        output.Ascii(Months[t.Month - 1]);
        output.Byte((byte)'/');
        output.Digits(t.Year, 4);
        output.Byte((byte)':');
        output.Digits(t.Hour, 2);
        output.Byte((byte)':');
        output.Digits(t.Minute, 2);
        output.Byte((byte)':');
        output.Digits(t.Second, 2);
        output.Byte((byte)' ');
        var offset = (int)t.Offset.TotalMinutes;
        output.Byte(offset < 0 ? (byte)'-' : (byte)'+');
        offset = Math.Abs(offset);
        output.Digits(offset / 60, 2);
        output.Digits(offset % 60, 2);
    }
}
