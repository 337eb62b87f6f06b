namespace Pingora.Proxy.Configuration;

/// <summary>
/// Where a YAML node sits in the file, kept in two spellings. <see cref="Canonical"/> uses the model's property names
/// (<c>Listeners[0].Tls.CertificatePath</c>) so validators can find a node without knowing whether the user wrote
/// <c>certificate_path</c> or <c>CertificatePath</c>; <see cref="Display"/> is the user's own spelling, for messages.
/// Mapping keys that are names chosen by the user (route ids, destination ids) are the same in both.
/// </summary>
internal readonly record struct NodePath(string Canonical, string Display)
{
    public static NodePath Root => new("", "");

    public NodePath Property(string propertyName, string writtenKey) =>
        new(Join(Canonical, propertyName), Join(Display, writtenKey));

    public NodePath Key(string key) => new(Join(Canonical, key), Join(Display, key));

    public NodePath Index(int index) => new($"{Canonical}[{index}]", $"{Display}[{index}]");

    public override string ToString() => Display.Length == 0 ? "-" : Display;

    private static string Join(string parent, string segment) => parent.Length == 0 ? segment : $"{parent}.{segment}";
}
