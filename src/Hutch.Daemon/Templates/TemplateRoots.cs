using System.Collections.Concurrent;
using Hutch.Daemon.Registry;
using Hutch.Files.Checkpoints;
using Hutch.Linux;
using Hutch.Runtime.Oci;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Templates;

/// <summary>
/// The writable roots of sandboxes made from templates: an overlay of the template's layers (shown
/// through an idmapped mount as the sandbox's own root's files), the skeleton layer over them, and the
/// sandbox's upper layer on its quota beside its workspace. Mounted in the host's mount namespace
/// before the runtime starts the sandbox, so it outlives a daemon restart like the sandbox does.
/// </summary>
public sealed class TemplateRoots
{
    private readonly TemplatePaths _paths;
    private readonly TemplateStore _store;
    private readonly ConcurrentDictionary<int, Lazy<SafeFileHandle>> _namespaces = new();

    public TemplateRoots(TemplatePaths paths, TemplateStore store)
    {
        _paths = paths;
        _store = store;
        Loader = AgentLoader.Host();
        foreach (var (dir, mode) in new[] { (paths.Templates, PrivateFiles.DirectoryMode), (paths.Layers, PrivateFiles.DirectoryMode), (paths.Roots, PrivateFiles.TraverseOnlyMode) })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, mode);
        }
        TemplateSkeleton.Ensure(paths.Skeleton, Loader);
    }

    public TemplatePaths Paths => _paths;

    /// <summary>The host's loader and libraries the agent runs with in a template's root.</summary>
    public AgentLoader Loader { get; }

    /// <summary>Resolves "NAME" or "NAME:VERSION" to a version; throws template_not_found or invalid_template.</summary>
    public TemplateRecord Resolve(string reference)
    {
        var (name, version) = TemplateStore.ParseReference(reference);
        return _store.Get(name, version);
    }

    /// <summary>A build step's state as a build sandbox's root ("@build:KEY"); in-process callers only, never an API caller's reference.</summary>
    public TemplateRecord ResolveBuild(string key) => _store.ResolveStored(TemplateStore.BuildReferencePrefix + key);

    /// <summary>Mounts the sandbox's root (when it is not mounted yet) and returns where.</summary>
    public string Mount(SandboxRecord record)
    {
        var target = _paths.Root(record.Id);
        if (Directory.Exists(target) && IdMappedOverlay.IsMounted(target))
        {
            return target;
        }
        var template = _store.ResolveStored(record.Template!);
        var upper = _paths.RootUpper(record.Id);
        var work = _paths.RootWork(record.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(upper)!, PrivateFiles.TraverseOnlyMode);
        Directory.CreateDirectory(upper);
        Directory.CreateDirectory(work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The upper directory is the root directory's own inode: the sandbox's root owns it, 0755.
        FileOwner.Change(upper, record.HostIdBase, record.HostIdBase);
        File.SetUnixFileMode(upper, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(target);
        IdMappedOverlay.Mount(LowersOf(template), upper, work, target, NamespaceFor(record.HostIdBase));
        return target;
    }

    /// <summary>The writable root of a sandbox made from a template, for its checkpoints; null for a sandbox on the host's root.</summary>
    public IWritableRoot? Writable(SandboxRecord record)
    {
        if (record.Template is null)
        {
            return null;
        }
        Mount(record);
        return new SandboxRoot(record, _paths, LowersOf(_store.ResolveStored(record.Template)), NamespaceFor(record.HostIdBase));
    }

    /// <summary>The skeleton, then the template's layers, top first.</summary>
    private List<string> LowersOf(TemplateRecord template)
    {
        var lowers = new List<string> { _paths.Skeleton };
        // Top first; an image may list a layer twice, which overlayfs refuses: its topmost place is
        // the one that counts (everything below it that it has, it covers again).
        lowers.AddRange(template.Manifest.Layers.Reverse().Distinct(StringComparer.Ordinal).Select(_paths.Layer));
        return lowers;
    }

    /// <summary>Unmounts a sandbox's root and removes its mount point (its upper layer goes with its volume).</summary>
    public void Unmount(string id)
    {
        var target = _paths.Root(id);
        if (!Directory.Exists(target))
        {
            return;
        }
        IdMappedOverlay.Unmount(target);
        Directory.Delete(target);
    }

    /// <summary>
    /// A user namespace with the id map of sandboxes whose range starts at <paramref name="hostBase"/>,
    /// made once per range: ranges are reused, and an open descriptor is all a namespace costs.
    /// </summary>
    private SafeFileHandle NamespaceFor(int hostBase) =>
        _namespaces.GetOrAdd(hostBase, b => new Lazy<SafeFileHandle>(() => UserNamespaces.Create(b, SandboxSpec.IdRangeSize))).Value;
}
