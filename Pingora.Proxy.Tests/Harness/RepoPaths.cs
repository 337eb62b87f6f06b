using NUnit.Framework;

namespace Pingora.Proxy.Tests.Harness;

/// <summary>Where the repository and the published daemon binary are.</summary>
public static class RepoPaths
{
    public const string BinaryEnvVar = "PINGORA_BIN";

    public const string PublishCommand =
        "dotnet publish Pingora.Proxy/Pingora.Proxy.csproj -c Release -r linux-x64 -o artifacts/pingora";

    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The directory holding Pingora.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot => s_root.Value;

    /// <summary>The binary the end-to-end tests run: $PINGORA_BIN, else artifacts/pingora/pingora.</summary>
    public static string BinaryPath
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable(BinaryEnvVar);
            return string.IsNullOrWhiteSpace(fromEnv)
                ? Path.Combine(RepoRoot, "artifacts", "pingora", "pingora")
                : Path.GetFullPath(fromEnv);
        }
    }

    /// <summary>
    /// The binary path, or a test failure that says how to build it. The tests run the published binary, never the
    /// in-process assembly: signals, fd passing and process exit are what they test.
    /// </summary>
    public static string RequireBinary()
    {
        var path = BinaryPath;
        if (!File.Exists(path))
        {
            Assert.Fail($"pingora binary not found at {path}: build it with {PublishCommand} (see README), " +
                        $"or point {BinaryEnvVar} at a built binary");
        }
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pingora.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException(
            $"no Pingora.sln in {AppContext.BaseDirectory} or any directory above it: cannot locate the repository");
    }
}
