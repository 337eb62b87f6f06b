using System.Text;
using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;
using Pingora.Proxy.Files;

namespace Pingora.Proxy.Daemon;

/// <summary>
/// The pid file systemd (Type=forking, PIDFile=) and operators read. Written by rename so a reader never sees it
/// half-written; in an upgrade the successor replaces it before its predecessor exits.
/// </summary>
public sealed class PidFile(string path)
{
    public string Path { get; } = path;

    /// <summary>
    /// Writes this process's pid to a temporary file beside the pid file, so that a later <see cref="Commit"/> is a
    /// rename and cannot fail on a full disk or a wrong permission at the moment it matters. The temporary name is
    /// random and created exclusively: a name derived from the pid could be planted in advance as a symlink.
    /// </summary>
    public string Prepare()
    {
        SafeFileHandle handle;
        string temp;
        try
        {
            (handle, temp) = SafeFile.CreateTemporary(Path, "pid_file",
                FilePermissions.S_IRUSR | FilePermissions.S_IWUSR | FilePermissions.S_IRGRP | FilePermissions.S_IROTH);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot write pid file {Path}: {e.Message}", e);
        }
        using (handle)
        {
            try
            {
                RandomAccess.Write(handle, Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"), 0);
            }
            catch (IOException e)
            {
                Discard(temp);
                throw new IOException($"cannot write pid file {Path}: {e.Message}", e);
            }
        }
        return temp;
    }

    public void Commit(string prepared) => File.Move(prepared, Path, overwrite: true);

    /// <summary>The pid the file names, or null when it is missing or unreadable.</summary>
    public int? Read()
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path).Trim(), out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes the file only while it names this process: after an upgrade it names the successor.</summary>
    public void RemoveIfOwn()
    {
        if (Read() == Environment.ProcessId) Remove();
    }

    public void Remove() => File.Delete(Path);

    /// <summary>
    /// After a privilege drop: the pid file is replaced (rename) and removed in its directory, so this process must
    /// still be able to write there. Checked before serving, so the failure is a clear start error and not a crash
    /// at the first commit.
    /// </summary>
    public void CheckDirectoryWritable(string user)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        if (Syscall.access(directory, AccessModes.W_OK | AccessModes.X_OK) != 0)
            throw new IOException($"pid_file {Path}: directory {directory} is not writable by user {user}: {Stdlib.GetLastError()}");
    }

    public static void Discard(string prepared)
    {
        try { File.Delete(prepared); } catch (IOException) { }
    }
}
