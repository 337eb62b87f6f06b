namespace Pingora.Proxy.Tests.Harness;

/// <summary>
/// The fields of /proc/PID/stat the tests look at. The command name in that file is in parentheses and may itself
/// contain spaces and parentheses, so the fields are counted after the last ')': state is field 3, then ppid, pgrp,
/// session and tty_nr (fields 4 to 7).
/// </summary>
public sealed record ProcStat(char State, int ParentPid, int ProcessGroup, int Session, int TtyNr)
{
    /// <summary>The process's stat, or null when it is gone.</summary>
    public static ProcStat? Read(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }
        var close = stat.LastIndexOf(')');
        if (close < 0) return null;
        var fields = stat[(close + 2)..].Split(' ');
        return new ProcStat(fields[0][0], int.Parse(fields[1]), int.Parse(fields[2]), int.Parse(fields[3]), int.Parse(fields[4]));
    }
}
