using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Hutch.Tests.Templates;

/// <summary>Writes oci-layout and docker-archive tars of crafted images, their blobs in any order, tampered on request.</summary>
internal static class ImageBuilder
{
    public static string HostArchitecture => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64";

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static JsonObject Config(IEnumerable<byte[]> layerTars, string os = "linux", string? architecture = null, JsonObject? run = null) => new()
    {
        ["architecture"] = architecture ?? HostArchitecture,
        ["os"] = os,
        ["config"] = run ?? new JsonObject
        {
            ["Env"] = new JsonArray("PATH=/usr/bin:/bin", "X=1"),
            ["WorkingDir"] = "/app",
            ["User"] = "1000:1000",
            ["Entrypoint"] = new JsonArray("/bin/sh", "-c"),
            ["Cmd"] = new JsonArray("echo hi"),
        },
        ["rootfs"] = new JsonObject
        {
            ["type"] = "layers",
            ["diff_ids"] = new JsonArray([.. layerTars.Select(tar => (JsonNode)("sha256:" + Sha256(tar)))]),
        },
    };

    /// <summary>One image's blobs: its gzipped layers, config and manifest, and the manifest's descriptor.</summary>
    public sealed record OciImage(List<(string Hex, byte[] Bytes)> Blobs, JsonObject Descriptor);

    public static OciImage Image(IReadOnlyList<byte[]> layerTars, JsonObject? config = null, Func<byte[], byte[]>? tamperLayer = null,
        string? refName = null, JsonObject? platform = null)
    {
        var blobs = new List<(string, byte[])>();
        var layers = new JsonArray();
        foreach (var tar in layerTars)
        {
            var gz = LayerTar.Gzip(tar);
            var hex = Sha256(gz);
            blobs.Add((hex, tamperLayer?.Invoke(gz) ?? gz));
            layers.Add(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = "sha256:" + hex, ["size"] = gz.Length });
        }
        var configBytes = Encoding.UTF8.GetBytes((config ?? Config(layerTars)).ToJsonString());
        blobs.Add((Sha256(configBytes), configBytes));
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = "sha256:" + Sha256(configBytes), ["size"] = configBytes.Length },
            ["layers"] = layers,
        }.ToJsonString());
        blobs.Add((Sha256(manifest), manifest));
        var descriptor = new JsonObject
        {
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["digest"] = "sha256:" + Sha256(manifest),
            ["size"] = manifest.Length,
        };
        if (platform is not null)
        {
            descriptor["platform"] = platform;
        }
        if (refName is not null)
        {
            descriptor["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = refName };
        }
        return new OciImage(blobs, descriptor);
    }

    /// <summary>An oci-layout tar of <paramref name="images"/>: their blobs first (layers before what names them), index.json and oci-layout last.</summary>
    public static byte[] OciLayout(params OciImage[] images)
    {
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray([.. images.Select(image => (JsonNode)image.Descriptor.DeepClone())]),
        }.ToJsonString());
        var files = images.SelectMany(image => image.Blobs).DistinctBy(blob => blob.Hex)
            .Select(blob => ($"blobs/sha256/{blob.Hex}", blob.Bytes))
            .Append(("index.json", index))
            .Append(("oci-layout", Encoding.UTF8.GetBytes("""{"imageLayoutVersion":"1.0.0"}""")));
        return Tar(files, directories: ["blobs/", "blobs/sha256/"]);
    }

    /// <summary>
    /// A docker-archive tar (docker save's legacy form): each layer as an uncompressed "ID/layer.tar",
    /// a layer listed twice stored once with a symlink, the config as "HEX.json", manifest.json first.
    /// </summary>
    public static byte[] DockerArchive(IReadOnlyList<byte[]> layerTars, JsonObject? config = null, string[]? repoTags = null)
    {
        var configBytes = Encoding.UTF8.GetBytes((config ?? Config(layerTars)).ToJsonString());
        var configName = Sha256(configBytes) + ".json";
        var stored = new Dictionary<string, string>();
        var names = new List<string>();
        var entries = new List<TarEntry>();
        for (var i = 0; i < layerTars.Count; i++)
        {
            var id = Sha256(Encoding.UTF8.GetBytes($"layer {i}"));
            var name = $"{id}/layer.tar";
            names.Add(name);
            var hex = Sha256(layerTars[i]);
            entries.Add(new PaxTarEntry(TarEntryType.Directory, id + "/"));
            if (stored.TryGetValue(hex, out var first))
            {
                entries.Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = "../" + first });
            }
            else
            {
                stored[hex] = name;
                entries.Add(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(layerTars[i]) });
            }
        }
        var manifest = Encoding.UTF8.GetBytes(new JsonArray(new JsonObject
        {
            ["Config"] = configName,
            ["RepoTags"] = new JsonArray([.. (repoTags ?? ["hutch/test:1"]).Select(tag => (JsonNode)tag)]),
            ["Layers"] = new JsonArray([.. names.Select(name => (JsonNode)name)]),
        }).ToJsonString());
        var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(manifest) });
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, configName) { DataStream = new MemoryStream(configBytes) });
        }
        return output.ToArray();
    }

    public static byte[] Tar(IEnumerable<(string Name, byte[] Bytes)> files, IEnumerable<string>? directories = null)
    {
        var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var directory in directories ?? [])
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, directory));
            }
            foreach (var (name, bytes) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
            }
        }
        return output.ToArray();
    }
}
