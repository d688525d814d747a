namespace Hutch.Files.Patching;

/// <summary>What a <see cref="FilePatch"/> does to its file.</summary>
public enum FilePatchKind
{
    /// <summary>Changes a file in place (content, mode or both); <see cref="FilePatch.OldPath"/> equals <see cref="FilePatch.NewPath"/>.</summary>
    Modify,
    /// <summary>Creates a file that must not exist yet; <see cref="FilePatch.OldPath"/> is null.</summary>
    Add,
    /// <summary>Removes a file whose content must be exactly what the hunks remove; <see cref="FilePatch.NewPath"/> is null.</summary>
    Delete,
    /// <summary>Moves <see cref="FilePatch.OldPath"/> to <see cref="FilePatch.NewPath"/>, with or without hunks changing the content.</summary>
    Rename,
}

/// <summary>
/// The change a diff makes to one file. Paths are relative, as written in the diff after the a/ and
/// b/ prefixes are taken off; they are not checked against any directory here (the caller opens them
/// through its contained file API).
/// </summary>
/// <param name="Kind">What happens to the file.</param>
/// <param name="OldPath">The file read; null when it is created.</param>
/// <param name="NewPath">The file written; null when it is deleted.</param>
/// <param name="NewMode">
/// The Unix permission bits the file gets (0o755, 0o644), from "new file mode" or "new mode"; null
/// when the diff keeps the mode as it is.
/// </param>
/// <param name="Hunks">The content changes, in file order; empty for pure renames and mode changes.</param>
public sealed record FilePatch(FilePatchKind Kind, string? OldPath, string? NewPath, int? NewMode, IReadOnlyList<Hunk> Hunks)
{
    /// <summary>The path to name in messages: the file read, else the file created.</summary>
    public string DisplayPath => OldPath ?? NewPath ?? "";
}
