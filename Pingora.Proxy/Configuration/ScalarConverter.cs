using System.Globalization;
using System.Numerics;

namespace Pingora.Proxy.Configuration;

/// <summary>The outcome of reading one scalar as a typed value; <see cref="Warning"/> may accompany a success.</summary>
internal readonly record struct ScalarResult(bool Ok, object? Value, string? Error = null, string? Warning = null)
{
    public static ScalarResult Success(object? value, string? warning = null) => new(true, value, null, warning);
    public static ScalarResult Failure(string error) => new(false, null, error);
}

/// <summary>Parses a scalar into a type the model wants; on failure sets an error message that already names the text.</summary>
internal delegate bool ScalarParser(string text, out object? value, out string? error);

/// <summary>
/// Turns YAML scalar text into the .NET types the configuration model uses. The accepted spellings follow what
/// Microsoft.Extensions.Configuration accepts from appsettings.json (quoted numbers, TimeSpan's own formats), so a
/// YARP section reads the same in both, and every failure is a message naming the expected type and the text.
/// </summary>
internal sealed class ScalarConverter
{
    private readonly Dictionary<Type, (string Description, ScalarParser Parse)> _custom = new();

    /// <summary>Adds a type read from one scalar, such as a listen address.</summary>
    public void Register(Type type, string description, ScalarParser parse) => _custom[type] = (description, parse);

    public bool IsScalar(Type type) =>
        _custom.ContainsKey(type) || type.IsEnum || type == typeof(string) || type == typeof(bool) || type == typeof(int)
        || type == typeof(long) || type == typeof(double) || type == typeof(TimeSpan) || type == typeof(Version)
        || type == typeof(Uri);

    public static bool IsFlagsEnum(Type type) => type.IsEnum && type.IsDefined(typeof(FlagsAttribute), false);

    /// <summary>What a value of the type looks like, for "expected ..." messages.</summary>
    public string Describe(Type type)
    {
        if (_custom.TryGetValue(type, out var custom)) return custom.Description;
        if (type.IsEnum)
            return (IsFlagsEnum(type) ? "one or more of " : "one of ") + string.Join(", ", Enum.GetNames(type));
        return type switch
        {
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) || type == typeof(long) => "an integer",
            _ when type == typeof(double) => "a number",
            _ when type == typeof(TimeSpan) => "a duration as hh:mm:ss or d.hh:mm:ss",
            _ when type == typeof(Version) => "a version such as 2.0",
            _ when type == typeof(Uri) => "a URI",
            _ => type.Name,
        };
    }

    public ScalarResult Convert(string text, Type type)
    {
        if (_custom.TryGetValue(type, out var custom))
            return custom.Parse(text, out var value, out var error)
                ? ScalarResult.Success(value)
                : ScalarResult.Failure(error ?? Expected(type, text));
        if (type == typeof(string)) return ScalarResult.Success(text);
        if (type.IsEnum) return ConvertEnum(text, type);
        if (type == typeof(bool))
        {
            // YAML 1.2 booleans only: YAML 1.1's yes/no/on/off are a classic source of surprises (Norway problem).
            return bool.TryParse(text.Trim(), out var b) ? ScalarResult.Success(b) : Fail(type, text);
        }
        if (type == typeof(int))
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
                ? ScalarResult.Success(i)
                : IntegerFailure(type, text, int.MinValue, int.MaxValue);
        if (type == typeof(long))
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                ? ScalarResult.Success(l)
                : IntegerFailure(type, text, long.MinValue, long.MaxValue);
        if (type == typeof(double))
        {
            // Non-finite values (.inf, NaN) would reach TimeSpan.FromSeconds and the like as nonsense.
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                ? ScalarResult.Success(d)
                : Fail(type, text);
        }
        if (type == typeof(TimeSpan)) return ConvertTimeSpan(text);
        if (type == typeof(Version))
        {
            // YARP's own configuration reader turns "2" into 2.0; Version.Parse alone would refuse it.
            var versionText = text.Contains('.') ? text : text + ".0";
            return Version.TryParse(versionText, out var v) ? ScalarResult.Success(v) : Fail(type, text);
        }
        if (type == typeof(Uri))
            return Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out var u) ? ScalarResult.Success(u) : Fail(type, text);
        throw new NotSupportedException($"{type} is not a scalar type of the configuration model");
    }

    public string Expected(Type type, string text) => $"expected {Describe(type)}, got '{text}'";

    private ScalarResult Fail(Type type, string text) => ScalarResult.Failure(Expected(type, text));

    private ScalarResult IntegerFailure(Type type, string text, BigInteger min, BigInteger max) =>
        BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            ? ScalarResult.Failure($"expected an integer between {min} and {max}, got '{text}'")
            : Fail(type, text);

    private ScalarResult ConvertEnum(string text, Type type)
    {
        // Names only, case-insensitively. Enum.TryParse would also take any number, including ones that name no
        // member; a [Flags] enum also takes "A, B" as its type converter does in appsettings.json.
        var parts = IsFlagsEnum(type)
            ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : [text.Trim()];
        var names = Enum.GetNames(type);
        var matched = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            var name = names.FirstOrDefault(n => n.Equals(part, StringComparison.OrdinalIgnoreCase));
            if (name is null) return Fail(type, text);
            matched.Add(name);
        }
        return matched.Count == 0 ? Fail(type, text) : ScalarResult.Success(Enum.Parse(type, string.Join(", ", matched)));
    }

    private ScalarResult ConvertTimeSpan(string text)
    {
        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)) return Fail(typeof(TimeSpan), text);
        // TimeSpan reads a bare number as days, as appsettings.json does; keep that meaning but say so, because a
        // user writing "30" almost always meant seconds.
        var warning = text.Contains(':')
            ? null
            : $"'{text}' is read as {span:c} ({span.TotalDays:0.###} days, d.hh:mm:ss); for seconds write hh:mm:ss such as 00:00:30";
        return ScalarResult.Success(span, warning);
    }
}
