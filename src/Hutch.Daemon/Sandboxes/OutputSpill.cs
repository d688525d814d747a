namespace Hutch.Daemon.Sandboxes;

/// <summary>Makes the buffers a command's collected output goes to, each spilling into its sandbox's own staging past the memory budget.</summary>
public sealed class OutputSpill(SandboxDirectory directory, SandboxStorage storage)
{
    /// <summary>A buffer for output of the sandbox <paramref name="idOrName"/>; its spill directory is looked up only if it spills.</summary>
    public OutputBuffer NewBuffer(string idOrName) => new(() => storage.SpillDirectoryOf(directory.Registry.Find(idOrName)));
}
