using System.Text;

namespace Hutch.Runtime.Templates;

/// <summary>
/// The lexical rules for a layer entry's name. They say clearly what is wrong with a name; they are
/// not what keeps writes inside the layer: every entry is made through a directory fd opened with
/// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so the kernel refuses a way out even where these
/// rules had a blind spot.
/// </summary>
internal static class LayerNames
{
    /// <summary>The prefix OCI gives whiteout files (image-spec layer.md, "Whiteouts").</summary>
    public const string WhiteoutPrefix = ".wh.";

    /// <summary>The opaque marker: its directory hides the lower layers' entries of the same directory.</summary>
    public const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>NAME_MAX of Linux file systems: a longer name cannot be made.</summary>
    private const int MaxNameBytes = 255;

    /// <summary>
    /// The entry's path inside the layer ("a/b"; "" for the layer's root): leading slashes dropped (an
    /// absolute name is read as relative to the layer, as Docker does), "." and empty components
    /// dropped, ".." resolved lexically; a ".." that would climb above the layer refuses the whole
    /// layer. No name reaches the kernel with a ".." in it.
    /// </summary>
    public static string Normalize(string name, LayerLimits limits, string what = "an entry")
    {
        if (name.Length == 0)
        {
            throw Invalid(name, $"{what} has an empty name");
        }
        if (name.Contains('\0'))
        {
            throw Invalid(name, $"{what}'s name contains a NUL byte");
        }
        var parts = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw Invalid(name, $"{what}'s name climbs out of the layer with '..'");
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            if (Encoding.UTF8.GetByteCount(part) > MaxNameBytes)
            {
                throw Invalid(name, $"{what}'s name has a component longer than {MaxNameBytes} bytes, the file system's limit");
            }
            parts.Add(part);
        }
        for (var i = 0; i < parts.Count - 1; i++)
        {
            if (parts[i].StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                throw Invalid(name, $"{what}'s name goes through '{parts[i]}', and names starting with '{WhiteoutPrefix}' are reserved for whiteouts");
            }
        }
        var path = string.Join('/', parts);
        if (Encoding.UTF8.GetByteCount(path) > limits.MaxPathLength)
        {
            throw Invalid(name, $"{what}'s name is longer than {limits.MaxPathLength} bytes");
        }
        return path;
    }

    /// <summary>A normalized path's parent ("" for a top-level entry) and last name ("" for the root).</summary>
    public static (string Parent, string Name) Split(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? ("", path) : (path[..slash], path[(slash + 1)..]);
    }

    public static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}/{name}";

    /// <summary>A name as a message shows it: control characters escaped, cut at 200 characters.</summary>
    public static string Shown(string name)
    {
        var builder = new StringBuilder();
        foreach (var c in name.Length > 200 ? name[..200] : name)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }
        return name.Length > 200 ? builder.Append('…').ToString() : builder.ToString();
    }

    public static TemplateException Invalid(string name, string why) => new(TemplateErrorCodes.LayerInvalidPath,
        $"the layer was refused: {why} ('{Shown(name)}'). Build the image with plain relative names inside its root.");
}
