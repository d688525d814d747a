using System.Text.RegularExpressions;
using Hutch.Protocol.Api;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// What a checkpoint may be called. A name is also a directory name in the store, so it starts with
/// a letter or digit (never ".", which the store keeps for its own entries such as the baseline) and
/// holds no "/".
/// </summary>
public static partial class CheckpointName
{
    /// <summary>The name that means the baseline (the state at create or after the last import) in diff and reset.</summary>
    public const string Baseline = "baseline";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Refuses a name a user may not create; returns it unchanged otherwise.</summary>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name.</exception>
    public static string Validate(string? name)
    {
        if (name is null || !Pattern().IsMatch(name))
        {
            throw new WorkspaceException(ErrorCodes.InvalidCheckpointName,
                $"'{Errors.Shorten(name ?? "")}' is not a valid checkpoint name. Use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, like 'before-refactor'.");
        }
        if (IsBaseline(name))
        {
            throw new WorkspaceException(ErrorCodes.InvalidCheckpointName,
                $"'{name}' is reserved: it means the workspace's baseline (its state at create or after the last import). Pick another name.");
        }
        return name;
    }

    /// <summary>True for "baseline" in any case; a null or empty reference to a checkpoint means it too.</summary>
    public static bool IsBaseline(string? name) =>
        string.IsNullOrEmpty(name) || string.Equals(name, Baseline, StringComparison.OrdinalIgnoreCase);
}
