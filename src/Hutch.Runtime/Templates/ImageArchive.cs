using System.Runtime.InteropServices;
using System.Text.Json;

namespace Hutch.Runtime.Templates;

/// <summary>What an image says about running it (the config's "config" object); the rest of the config is not kept.</summary>
/// <param name="Env">Environment variables, "NAME=value", in order.</param>
/// <param name="WorkingDir">The working directory, or null when the image sets none.</param>
/// <param name="User">The user ("name", "uid", "uid:gid", …), or null when the image sets none.</param>
/// <param name="Entrypoint">The entrypoint's argv, or null.</param>
/// <param name="Cmd">The command's argv (the entrypoint's arguments when there is one), or null.</param>
public sealed record ImageConfig(IReadOnlyList<string> Env, string? WorkingDir, string? User, IReadOnlyList<string>? Entrypoint, IReadOnlyList<string>? Cmd);

/// <summary>An image imported into a <see cref="LayerStore"/>.</summary>
/// <param name="Layers">Its layers' diff_ids, bottom first: the overlay's lowerdirs are these in reverse order.</param>
/// <param name="Config">How the image says to run it.</param>
/// <param name="Warnings">What was left out of its layers (device nodes), each prefixed with its layer.</param>
public sealed record ImportedImage(IReadOnlyList<string> Layers, ImageConfig Config, IReadOnlyList<string> Warnings);

/// <summary>
/// Imports an image archive into a <see cref="LayerStore"/>: an oci-layout tar (index.json →
/// manifest → config and layers in blobs/sha256/, as `buildah push oci-archive:`, `skopeo copy
/// oci-archive:` and `docker save` since 25 write it) or a docker-archive tar (manifest.json with
/// Config and Layers, as `docker save` and `buildah push docker-archive:` write it), either one
/// optionally gzip-compressed. Every blob used is checked against its digest, and every layer's
/// uncompressed tar against the config's diff_id, before the layer gets that name. A failed import
/// leaves no half layer; the whole layers it did add stay until the store's owner collects them
/// (deleting them here could pull a layer from under a concurrent import of another image that shares it).
/// </summary>
public static class ImageArchive
{
    /// <summary>The most bytes of an index, manifest or config read (they are small JSON documents; a config with 127 layers' history is some kilobytes).</summary>
    private const int MaxJsonBytes = 4 << 20;
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const string ContainerdNameAnnotation = "io.containerd.image.name";

    private static readonly HashSet<string> ManifestTypes = new(StringComparer.Ordinal)
    {
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    };

    private static readonly HashSet<string> IndexTypes = new(StringComparer.Ordinal)
    {
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    };

    /// <summary>Imports the archive at <paramref name="archivePath"/>; see <see cref="ImportAsync(Stream, LayerStore, ImageLimits?, string?, CancellationToken)"/>.</summary>
    public static async Task<ImportedImage> ImportAsync(string archivePath, LayerStore store, ImageLimits? limits = null, string? reference = null,
        CancellationToken cancellationToken = default)
    {
        var stream = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        await using (stream.ConfigureAwait(false))
        {
            return await ImportAsync(stream, store, limits, reference, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Imports the image archive read from <paramref name="archive"/> (once, front to back) into
    /// <paramref name="store"/>. An archive of several images takes the one named
    /// <paramref name="reference"/> (a tag or name: "latest", "app:1", "docker.io/library/app:1"), or
    /// else the only one, or else the only one for linux and this host's architecture.
    /// </summary>
    /// <exception cref="TemplateException">
    /// image_invalid, image_unsupported, image_too_large, layer_digest_mismatch, or any layer
    /// refusal (its message names the layer).
    /// </exception>
    public static Task<ImportedImage> ImportAsync(Stream archive, LayerStore store, ImageLimits? limits = null, string? reference = null,
        CancellationToken cancellationToken = default) =>
        ImportAsync(archive, store, lease: null, limits, reference, cancellationToken);

    /// <inheritdoc cref="ImportAsync(Stream, LayerStore, ImageLimits?, string?, CancellationToken)"/>
    /// <param name="lease">Pins every layer of the image, added or found stored, until the caller has recorded them (see <see cref="LayerStore"/>).</param>
    public static async Task<ImportedImage> ImportAsync(Stream archive, LayerStore store, LayerLease? lease, ImageLimits? limits = null, string? reference = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        ArgumentNullException.ThrowIfNull(store);
        limits ??= ImageLimits.Default;
        limits.Validate();
        using var spool = await SpooledArchive.ReadAsync(archive, store.NewSpoolDirectory(), limits, cancellationToken).ConfigureAwait(false);
        var isOci = spool.Find("index.json") is not null && (spool.Find("oci-layout") is not null || spool.Find("manifest.json") is null);
        var image = isOci ? ReadOciLayout(spool, reference)
            : spool.Find("manifest.json") is not null ? ReadDockerArchive(spool, reference)
            : throw Invalid("it has neither an index.json (oci-layout) nor a manifest.json (docker-archive); write it with `docker save`, `buildah push` or `skopeo copy`");
        var (diffIds, config) = ReadConfig(image.Config);
        if (diffIds.Count != image.Layers.Count)
        {
            throw Invalid($"its manifest lists {image.Layers.Count} layers and its config {diffIds.Count} diff_ids");
        }
        if (diffIds.Count > limits.MaxLayers)
        {
            throw new TemplateException(TemplateErrorCodes.ImageTooLarge,
                $"the image has {diffIds.Count} layers, more than the {limits.MaxLayers} a template may stack; squash some of them (for example `buildah commit --squash`)");
        }
        var warnings = new List<string>();
        for (var i = 0; i < diffIds.Count; i++)
        {
            var (file, shown) = image.Layers[i];
            try
            {
                var blob = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
                await using (blob.ConfigureAwait(false))
                {
                    if (store.Has(diffIds[i], lease))
                    {
                        // Stored already (from another image): checked, not extracted again.
                        var digest = await LayerStore.DigestAsync(blob, limits.LayerOrDefault, cancellationToken).ConfigureAwait(false);
                        if (digest != diffIds[i])
                        {
                            throw new TemplateException(TemplateErrorCodes.LayerDigestMismatch,
                                $"its uncompressed tar has the digest {digest}, not {diffIds[i]} as the image's config says; the archive is damaged or was altered");
                        }
                        continue;
                    }
                    var info = await store.AddAsync(blob, limits.LayerOrDefault, diffIds[i], lease, cancellationToken).ConfigureAwait(false);
                    warnings.AddRange(info.Warnings.Select(warning => $"layer {i + 1}: {warning}"));
                }
            }
            catch (TemplateException e)
            {
                throw new TemplateException(e.Code, $"layer {i + 1} of {diffIds.Count} ({LayerNames.Shown(shown)}): {e.Message}", e);
            }
        }
        return new ImportedImage(diffIds, config, warnings);
    }

    /// <summary>The chosen image's config bytes and its layer blobs, bottom first, each with the name a message shows.</summary>
    private sealed record Resolved(byte[] Config, IReadOnlyList<(SpooledArchive.SpooledFile File, string Shown)> Layers);

    private sealed record Candidate(JsonElement Descriptor, string Digest, string? Os, string? Architecture, IReadOnlyList<string> Names);

    // ---- oci-layout (image-spec image-layout.md) ----

    private static Resolved ReadOciLayout(SpooledArchive spool, string? reference)
    {
        using var index = ReadJson(spool.Find("index.json")!, "index.json");
        var candidates = new List<Candidate>();
        var nested = new List<JsonDocument>();
        try
        {
            Collect(spool, index.RootElement, "index.json", depth: 0, [], candidates, nested);
            var chosen = Choose(candidates, reference, candidate => (candidate.Os, candidate.Architecture), candidate => candidate.Digest);
            var manifestFile = Blob(spool, chosen.Descriptor, "the manifest", layer: false);
            using var manifest = ReadJson(manifestFile, $"the manifest {chosen.Digest}");
            var root = Object(manifest.RootElement, "the manifest");
            if (String(root, "mediaType", "the manifest") is { } mediaType && !ManifestTypes.Contains(mediaType))
            {
                throw Unsupported($"its manifest is a {mediaType}, not an image manifest");
            }
            var config = Blob(spool, Property(root, "config", "the manifest"), "the config", layer: false);
            var layers = new List<(SpooledArchive.SpooledFile, string)>();
            foreach (var descriptor in Array(root, "layers", "the manifest") ?? [])
            {
                var type = String(Object(descriptor, "a layer descriptor"), "mediaType", "a layer descriptor");
                if (type is null || !(type.StartsWith("application/vnd.oci.image.layer.", StringComparison.Ordinal)
                    || type.StartsWith("application/vnd.docker.image.rootfs.", StringComparison.Ordinal)))
                {
                    throw Unsupported($"a layer has the media type '{type}', which is not an image layer (is it an artifact rather than an image?)");
                }
                var file = Blob(spool, descriptor, "a layer", layer: true);
                layers.Add((file, file.Name));
            }
            return new Resolved(ReadSmall(config, $"the config {config.Name}"), layers);
        }
        finally
        {
            foreach (var document in nested)
            {
                document.Dispose();
            }
        }
    }

    /// <summary>The image manifests an index lists, through nested indexes (a multi-platform image), with their platforms and names.</summary>
    private static void Collect(SpooledArchive spool, JsonElement index, string where, int depth, IReadOnlyList<string> inheritedNames,
        List<Candidate> into, List<JsonDocument> documents)
    {
        foreach (var descriptor in Array(Object(index, where), "manifests", where) ?? throw Invalid($"{where} has no manifests list"))
        {
            var item = Object(descriptor, $"a descriptor in {where}");
            var mediaType = String(item, "mediaType", where);
            var digest = String(item, "digest", where) ?? throw Invalid($"a descriptor in {where} has no digest");
            var names = new List<string>(inheritedNames);
            if (Optional(item, "annotations") is { ValueKind: JsonValueKind.Object } annotations)
            {
                foreach (var key in (string[])[RefNameAnnotation, ContainerdNameAnnotation])
                {
                    if (annotations.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        names.Add(value.GetString()!);
                    }
                }
            }
            if (mediaType is not null && IndexTypes.Contains(mediaType))
            {
                if (depth >= 2)
                {
                    throw Unsupported("its indexes nest more than two deep");
                }
                var document = ReadJson(Blob(spool, descriptor, "an index", layer: false), $"the index {digest}");
                documents.Add(document);
                Collect(spool, document.RootElement, $"the index {digest}", depth + 1, names, into, documents);
            }
            else if (mediaType is null || ManifestTypes.Contains(mediaType))
            {
                var platform = Optional(item, "platform") is { ValueKind: JsonValueKind.Object } p ? p : default;
                into.Add(new Candidate(descriptor, digest,
                    platform.ValueKind == JsonValueKind.Object ? String(platform, "os", where) : null,
                    platform.ValueKind == JsonValueKind.Object ? String(platform, "architecture", where) : null, names));
            }
            // Anything else (signatures, SBOMs and other artifacts) is not an image to run.
        }
    }

    // ---- docker-archive (docker save) ----

    private static Resolved ReadDockerArchive(SpooledArchive spool, string? reference)
    {
        using var document = ReadJson(spool.Find("manifest.json")!, "manifest.json");
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("its manifest.json is not a list of images");
        }
        var candidates = new List<(JsonElement Entry, string Config, IReadOnlyList<string> Names)>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            var item = Object(entry, "an image in manifest.json");
            var config = String(item, "Config", "manifest.json") ?? throw Invalid("an image in its manifest.json has no Config");
            candidates.Add((item, config, Strings(item, "RepoTags", "manifest.json") ?? []));
        }
        var chosen = Choose(
            [.. candidates.Select(c => new Candidate(c.Entry, c.Config, null, null, c.Names))],
            reference,
            candidate => Platform(spool, candidate.Digest),
            candidate => candidate.Digest);
        var configFile = DockerFile(spool, chosen.Digest, "the config", layer: false);
        var layers = new List<(SpooledArchive.SpooledFile, string)>();
        foreach (var name in Strings(chosen.Descriptor, "Layers", "manifest.json") ?? throw Invalid("an image in its manifest.json has no Layers"))
        {
            layers.Add((DockerFile(spool, name, "a layer", layer: true), name));
        }
        return new Resolved(ReadSmall(configFile, $"the config {configFile.Name}"), layers);
    }

    /// <summary>A file that manifest.json names; checked against its name when the name is a digest ("blobs/sha256/HEX", "HEX.json").</summary>
    private static SpooledArchive.SpooledFile DockerFile(SpooledArchive spool, string name, string what, bool layer)
    {
        var file = spool.Find(name) ?? throw Invalid($"{what} '{LayerNames.Shown(name)}' that manifest.json names is not in the archive");
        var baseName = Path.GetFileName(file.Name);
        var named = file.Name.StartsWith("blobs/sha256/", StringComparison.Ordinal) ? baseName
            : baseName.EndsWith(".json", StringComparison.Ordinal) ? baseName[..^5]
            : null;
        if (named is not null && LayerDigest.IsHex(named) && named != file.Sha256)
        {
            throw Mismatch(what, file.Name, named, file.Sha256, layer);
        }
        return file;
    }

    private static (string? Os, string? Architecture) Platform(SpooledArchive spool, string configName)
    {
        using var config = ReadJson(DockerFile(spool, configName, "a config", layer: false), configName);
        var root = Object(config.RootElement, configName);
        return (String(root, "os", configName), String(root, "architecture", configName));
    }

    // ---- shared ----

    /// <summary>
    /// The one image to import: the one named <paramref name="reference"/>, else the only one, else
    /// the only one for linux on this host's architecture. Several that are the same image (one
    /// image under two tags) count as one.
    /// </summary>
    private static Candidate Choose(List<Candidate> candidates, string? reference, Func<Candidate, (string? Os, string? Architecture)> platform,
        Func<Candidate, string> identity)
    {
        if (reference is not null)
        {
            candidates = [.. candidates.Where(c => c.Names.Any(name => name == reference || name.EndsWith("/" + reference, StringComparison.Ordinal)))];
            if (candidates.Count == 0)
            {
                throw Unsupported($"it has no image named '{reference}'");
            }
        }
        var distinct = candidates.DistinctBy(identity).ToList();
        if (distinct.Count == 1)
        {
            return distinct[0];
        }
        if (distinct.Count == 0)
        {
            throw Invalid("it lists no image");
        }
        var architecture = HostArchitecture();
        var matching = distinct.Where(c => platform(c) is ("linux", var arch) && arch == architecture).ToList();
        if (matching.Count == 1)
        {
            return matching[0];
        }
        var names = string.Join(", ", distinct.Select(c => c.Names.Count > 0 ? c.Names[0] : c.Digest));
        throw Unsupported(matching.Count == 0
            ? $"it has {distinct.Count} images and none for linux/{architecture} ({names}); name the one to import"
            : $"it has {matching.Count} images for linux/{architecture} ({names}); name the one to import");
    }

    /// <summary>A blob that a descriptor names, checked: its digest is sha256 and its bytes have that digest and the descriptor's size.</summary>
    private static SpooledArchive.SpooledFile Blob(SpooledArchive spool, JsonElement descriptor, string what, bool layer)
    {
        var item = Object(descriptor, $"{what}'s descriptor");
        var digest = String(item, "digest", $"{what}'s descriptor") ?? throw Invalid($"{what}'s descriptor has no digest");
        if (!digest.StartsWith(LayerDigest.Prefix, StringComparison.Ordinal))
        {
            throw Unsupported($"{what} has the digest '{LayerNames.Shown(digest)}': only sha256 digests are read");
        }
        if (!LayerDigest.IsValid(digest))
        {
            throw Invalid($"{what} has the malformed digest '{LayerNames.Shown(digest)}'");
        }
        var hex = LayerDigest.Hex(digest);
        var file = spool.Find($"blobs/sha256/{hex}")
            ?? throw Invalid($"{what} ({digest}) is not in the archive's blobs/sha256/ (a foreign layer, left out when it was written?)");
        if (file.Sha256 != hex)
        {
            throw Mismatch(what, file.Name, hex, file.Sha256, layer);
        }
        if (Optional(item, "size") is { ValueKind: JsonValueKind.Number } size && (!size.TryGetInt64(out var bytes) || bytes != file.Size))
        {
            throw Mismatch(what, file.Name, $"{hex} of {size.GetRawText()} bytes", $"{file.Sha256} of {file.Size} bytes", layer);
        }
        return file;
    }

    /// <summary>The config's diff_ids and the part of its "config" that says how to run the image.</summary>
    private static (IReadOnlyList<string> DiffIds, ImageConfig Config) ReadConfig(byte[] bytes)
    {
        using var document = Parse(bytes, "the config");
        var root = Object(document.RootElement, "the config");
        if (String(root, "os", "the config") is { } os && os != "linux")
        {
            throw Unsupported($"its image is for {os}; a template must be a linux image");
        }
        var rootfs = Object(Property(root, "rootfs", "the config"), "the config's rootfs");
        if (String(rootfs, "type", "the config's rootfs") != "layers")
        {
            throw Invalid("its config's rootfs.type is not \"layers\"");
        }
        var diffIds = Strings(rootfs, "diff_ids", "the config's rootfs") ?? [];
        foreach (var diffId in diffIds)
        {
            if (!LayerDigest.IsValid(diffId))
            {
                throw diffId.StartsWith(LayerDigest.Prefix, StringComparison.Ordinal)
                    ? Invalid($"its config has the malformed diff_id '{LayerNames.Shown(diffId)}'")
                    : Unsupported($"its config has the diff_id '{LayerNames.Shown(diffId)}': only sha256 digests are read");
            }
        }
        var run = Optional(root, "config") is { ValueKind: JsonValueKind.Object } c ? c : default;
        var config = run.ValueKind != JsonValueKind.Object
            ? new ImageConfig([], null, null, null, null)
            : new ImageConfig(
                Strings(run, "Env", "the config") ?? [],
                NullIfEmpty(String(run, "WorkingDir", "the config")),
                NullIfEmpty(String(run, "User", "the config")),
                Strings(run, "Entrypoint", "the config"),
                Strings(run, "Cmd", "the config"));
        return (diffIds, config);
    }

    private static JsonDocument ReadJson(SpooledArchive.SpooledFile file, string what) => Parse(ReadSmall(file, what), what);

    /// <summary>The bytes of a JSON document of the archive (an index, manifest or config), refused past <see cref="MaxJsonBytes"/>.</summary>
    private static byte[] ReadSmall(SpooledArchive.SpooledFile file, string what) => file.Size <= MaxJsonBytes
        ? File.ReadAllBytes(file.Path)
        : throw Invalid($"{what} is {file.Size} bytes, more than the {MaxJsonBytes} a JSON document of an image may have");

    private static JsonDocument Parse(byte[] bytes, string what)
    {
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new TemplateException(TemplateErrorCodes.ImageInvalid, $"the image archive was refused: {what} is not valid JSON ({e.Message})", e);
        }
    }

    private static JsonElement Object(JsonElement element, string where) =>
        element.ValueKind == JsonValueKind.Object ? element : throw Invalid($"{where} is not a JSON object");

    private static JsonElement? Optional(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static JsonElement Property(JsonElement obj, string name, string where) =>
        Optional(obj, name) ?? throw Invalid($"{where} has no \"{name}\"");

    private static string? String(JsonElement obj, string name, string where) => Optional(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw Invalid($"\"{name}\" in {where} is not a string"),
    };

    private static List<string>? Strings(JsonElement obj, string name, string where)
    {
        if (Optional(obj, name) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
        {
            throw Invalid($"\"{name}\" in {where} is not a list of strings");
        }
        return [.. value.EnumerateArray().Select(item => item.GetString()!)];
    }

    private static List<JsonElement>? Array(JsonElement obj, string name, string where) => Optional(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } value => [.. value.EnumerateArray()],
        _ => throw Invalid($"\"{name}\" in {where} is not a list"),
    };

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The OCI name of this host's architecture (image-spec config.md: GOARCH values).</summary>
    private static string HostArchitecture() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "386",
        Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static TemplateException Mismatch(string what, string name, string expected, string actual, bool layer) => new(
        layer ? TemplateErrorCodes.LayerDigestMismatch : TemplateErrorCodes.ImageInvalid,
        $"the image archive was refused: {what} ('{LayerNames.Shown(name)}') should have the sha256 {expected} but has {actual}; the archive is damaged or was altered");

    private static TemplateException Invalid(string why) => new(TemplateErrorCodes.ImageInvalid,
        $"the image archive was refused: {why}. Give an oci-layout or docker-archive tar as `docker save`, `buildah push` or `skopeo copy` write it.");

    private static TemplateException Unsupported(string why) => new(TemplateErrorCodes.ImageUnsupported, $"the image archive was refused: {why}.");
}
