namespace Hutch.Daemon.Templates;

/// <summary>Where templates' layers and template sandboxes' roots live in the data dir.</summary>
/// <param name="VolumeOf">A sandbox's own part of the workspaces' volume (its quota unit), where its root's upper layer goes.</param>
public sealed record TemplatePaths(string DataDir, Func<string, string> VolumeOf)
{
    /// <summary>Templates' layers (content-addressed; 0700: only the daemon opens them, for the overlays) and the skeleton layer over them.</summary>
    public string Templates => Path.Join(DataDir, "templates");
    public string Layers => Path.Join(Templates, "layers");
    public string Skeleton => Path.Join(Templates, "skeleton");

    /// <summary>A layer's directory: "sha256:HEX" is kept as sha256-HEX.</summary>
    public string Layer(string digest) => Path.Join(Layers, digest.Replace(':', '-'));

    /// <summary>Where template sandboxes' merged roots are mounted (0711: the runtime reaches one by path from the sandbox's user namespace).</summary>
    public string Roots => Path.Join(DataDir, "roots");
    public string Root(string id) => Path.Join(Roots, id);

    /// <summary>A template sandbox's changes to its root, on its quota beside its workspace; the overlay's work directory beside it.</summary>
    public string RootUpper(string id) => Path.Join(VolumeOf(id), "root", "upper");
    public string RootWork(string id) => Path.Join(VolumeOf(id), "root", "work");
}
