using System.Text;
using System.Text.RegularExpressions;
using Mono.Unix.Native;

namespace Pingora.Proxy.Tests.Configuration;

/// <summary>
/// One hostile configuration: <see cref="Create"/> puts it at a path (replacing whatever is there), given a valid
/// file's text for the cases that must stay valid around their hostile part; <see cref="Expect"/> is the diagnostic
/// it must get.
/// </summary>
public sealed record HostileCase(string Name, Action<string, string> Create, HostileExpectation Expect)
{
    public override string ToString() => Name;
}

/// <summary>
/// "LINE:COL KEY: TEXT" as the first line of a corpus file says it (<c># expect: 3:5 listeners[0]: expected a mapping</c>):
/// some error must be at that line and column, name that key, and contain that text; <c>*</c> matches any column or
/// key. <c>valid</c> means the file loads, with at most the capped number of warnings.
/// </summary>
public sealed partial record HostileExpectation(bool Valid, int Line, int? Column, string? Key, string Text)
{
    public static HostileExpectation Parse(string text)
    {
        if (text == "valid") return new HostileExpectation(true, 0, null, null, "");
        var m = Form().Match(text);
        if (!m.Success) throw new FormatException($"not an expectation: '{text}'");
        return new HostileExpectation(false, int.Parse(m.Groups["line"].Value),
            m.Groups["col"].Value == "*" ? null : int.Parse(m.Groups["col"].Value),
            m.Groups["key"].Value == "*" ? null : m.Groups["key"].Value, m.Groups["text"].Value);
    }

    public bool Matches(int line, int column, string key, string message) =>
        line == Line && (Column is null || column == Column) && (Key is null || key == Key)
        && message.Contains(Text, StringComparison.Ordinal);

    public override string ToString() => Valid ? "valid" : $"{Line}:{Column?.ToString() ?? "*"} {Key ?? "*"}: {Text}";

    [GeneratedRegex(@"^(?<line>\d+):(?<col>\d+|\*) (?<key>\S+): (?<text>.*)$")]
    private static partial Regex Form();
}

/// <summary>
/// The hostile configurations: the files under Configuration/Hostile (broken YAML of every kind, wrong shapes at
/// every level, NULs, tags, merge keys, aliases, bytes that are not UTF-8, devices as TLS files), and the cases too
/// big, too deep or too special to keep as files (FIFOs, /dev/zero, a directory, floods of keys and errors).
/// </summary>
public static class HostileCorpus
{
    public const string Listener = "listeners:\n  - address: 127.0.0.1:8080\n";

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Configuration", "Hostile");

    public static IEnumerable<HostileCase> All() => Files().Concat(Generated());

    private static IEnumerable<HostileCase> Files()
    {
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            var firstLine = Encoding.UTF8.GetString(bytes, 0, Array.IndexOf(bytes, (byte)'\n'));
            const string prefix = "# expect: ";
            if (!firstLine.StartsWith(prefix, StringComparison.Ordinal)) throw new FormatException($"{file}: no '{prefix}' line");
            yield return new HostileCase(Path.GetFileNameWithoutExtension(file),
                (path, _) => { Clear(path); File.WriteAllBytes(path, bytes); },
                HostileExpectation.Parse(firstLine[prefix.Length..]));
        }
    }

    private static IEnumerable<HostileCase> Generated()
    {
        HostileCase Text(string name, string expect, Func<string, string> content) =>
            new(name, (path, valid) => { Clear(path); File.WriteAllText(path, content(valid)); }, HostileExpectation.Parse(expect));

        yield return Text("deep-flow-sequence", "1:75 *: nested more than 64 levels deep", _ => "listeners: " + new string('[', 10_000));
        yield return Text("deep-flow-mapping", "1:* *: nested more than 64 levels deep",
            _ => "listeners: " + string.Concat(Enumerable.Repeat("{a: ", 10_000)));
        yield return Text("deep-block-mapping", "65:* *: nested more than 64 levels deep",
            _ => string.Concat(Enumerable.Range(0, 1_000).Select(i => new string(' ', i) + "k:\n")));
        yield return Text("wide-flow-list", "1:* *: more than 200000 values",
            _ => "listeners: [" + string.Concat(Enumerable.Repeat("1,", 1_000_000)) + "]\n");
        yield return Text("unknown-keys-90k", "valid",
            valid => valid + string.Concat(Enumerable.Range(0, 90_000).Select(i => $"k{i}: 1\n")));
        yield return Text("unknown-keys-500k", "0:0 -: more than the 4194304 allowed",
            _ => Listener + string.Concat(Enumerable.Range(0, 500_000).Select(i => $"k{i}: 1\n")));
        yield return Text("bad-listeners-50k", "2:14 listeners[0].address: 'bad0' is not an address",
            _ => "listeners:\n" + string.Concat(Enumerable.Range(0, 50_000).Select(i => $"  - address: bad{i}\n")));
        yield return Text("oversize-comment", "0:0 -: more than the 4194304 allowed",
            _ => Listener + "#" + new string('x', 5_000_000) + "\n");
        yield return new HostileCase("config-is-dev-zero",
            (path, _) => { Clear(path); File.CreateSymbolicLink(path, "/dev/zero"); },
            HostileExpectation.Parse("0:0 -: not a regular file (a character device)"));
        yield return new HostileCase("config-is-fifo",
            (path, _) => { Clear(path); MakeFifo(path); },
            HostileExpectation.Parse("0:0 -: not a regular file (a FIFO)"));
        yield return new HostileCase("config-is-directory",
            (path, _) => { Clear(path); System.IO.Directory.CreateDirectory(path); },
            HostileExpectation.Parse("0:0 -: not a regular file (a directory)"));
        yield return new HostileCase("tls-files-are-fifos",
            (path, _) =>
            {
                Clear(path);
                MakeFifo(path + ".cert.fifo");
                MakeFifo(path + ".key.fifo");
                File.WriteAllText(path, Listener + $"    tls:\n      certificate_path: {path}.cert.fifo\n      key_path: {path}.key.fifo\n");
            },
            HostileExpectation.Parse("4:25 listeners[0].tls.certificate_path: not a regular file (a FIFO)"));
        yield return new HostileCase("tls-certificate-too-big",
            (path, _) =>
            {
                Clear(path);
                File.WriteAllText(path + ".big.pem", "-----BEGIN CERTIFICATE-----\n" + new string('A', 2_000_000));
                File.WriteAllText(path, Listener + $"    tls:\n      certificate_path: {path}.big.pem\n      key_path: {path}.big.pem\n");
            },
            HostileExpectation.Parse("4:25 listeners[0].tls.certificate_path: more than the 1048576 allowed"));
    }

    /// <summary>Removes a file, symbolic link, FIFO or directory at <paramref name="path"/>, whichever is there.</summary>
    public static void Clear(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null && System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
        else if (info.Exists || info.LinkTarget is not null) File.Delete(path);
    }

    private static void MakeFifo(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        if (Syscall.mkfifo(path, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR) != 0)
            throw new IOException($"mkfifo {path}: {Stdlib.GetLastError()}");
    }
}
