namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What a command left that the sandbox keeps as artifacts, so an exec result can list them. Exec/
/// asks when a command ends; Artifacts/ answers (docs/artifacts.md); neither knows the other.
/// </summary>
public interface IArtifactDetector
{
    /// <summary>The new or changed files the sandbox's globs match, kept now; null when there are none (or the sandbox keeps none).</summary>
    Task<IReadOnlyList<ArtifactInfo>?> DetectAsync(string sandboxId, CancellationToken cancellationToken);
}
