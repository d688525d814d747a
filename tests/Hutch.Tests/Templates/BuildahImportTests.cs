using Hutch.Runtime.Templates;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>
/// An image made by a real image tool, buildah, from a local directory with no registry: its
/// oci-archive and docker-archive forms import to the same layers. buildah works in a private
/// root under the test's directory with the vfs driver (no mounts) and its own empty
/// configuration, in a mount namespace of its own, so it touches nothing else on the host;
/// eng/test.sh installs it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BuildahImportTests : IDisposable
{
    private readonly LayerSandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task AnImageBuiltByBuildahFromALocalDirectory_ImportsFromBothItsOciAndDockerArchives()
    {
        Assert.True(File.Exists("/usr/bin/buildah"), "buildah is missing: run the tests with eng/test.sh, which installs it");
        var work = Path.Join(_box.Dir, "buildah");
        var context = Path.Join(work, "context", "app");
        Directory.CreateDirectory(Path.Join(context, "sub"));
        File.WriteAllText(Path.Join(context, "hello.txt"), "hello from buildah\n");
        File.WriteAllText(Path.Join(context, "sub", "two.txt"), "two\n");
        File.CreateSymbolicLink(Path.Join(context, "link"), "hello.txt");
        File.WriteAllText(Path.Join(work, "policy.json"), """{"default":[{"type":"insecureAcceptAnything"}]}""");
        File.WriteAllText(Path.Join(work, "registries.conf"), "");
        File.WriteAllText(Path.Join(work, "containers.conf"), "");
        File.WriteAllText(Path.Join(work, "storage.conf"), $"""
            [storage]
            driver = "vfs"
            runroot = "{work}/run"
            graphroot = "{work}/root"
            """);
        Directory.CreateDirectory(Path.Join(work, "tmp"));
        var environment = new Dictionary<string, string>
        {
            ["CONTAINERS_STORAGE_CONF"] = Path.Join(work, "storage.conf"),
            ["CONTAINERS_REGISTRIES_CONF"] = Path.Join(work, "registries.conf"),
            ["CONTAINERS_CONF"] = Path.Join(work, "containers.conf"),
            ["BUILDAH_ISOLATION"] = "chroot",
            ["TMPDIR"] = Path.Join(work, "tmp"),
        };
        // buildah keeps a blob cache in /var/lib/containers and network state in /run/containers
        // whatever its root: in a mount namespace of their own, both are empty tmpfs that go with it.
        const string script = """
            work=$1
            mount -t tmpfs -o mode=0755 hutch-test /var/lib
            mount -t tmpfs -o mode=0755 hutch-test /run
            b() { buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs "$@"; }
            policy=--signature-policy="$work/policy.json"
            c=$(b from "$policy" --name hutch-test scratch)
            b copy "$c" "$work/context/app" /app
            b config --env X=1 --workingdir /app "$c"
            b commit "$policy" "$c" localhost/hutch-test:1
            b push "$policy" localhost/hutch-test:1 "oci-archive:$work/oci.tar"
            b push "$policy" localhost/hutch-test:1 "docker-archive:$work/docker.tar:localhost/hutch-test:1"
            """;
        var hostHadCache = Directory.Exists("/var/lib/containers");
        var result = await ToolProcess.RunAsync("unshare", ["--mount", "--propagation", "private", "sh", "-euc", script, "buildah-test", work],
            work, TimeSpan.FromMinutes(3), environment);
        Assert.True(result.Code == 0, result.Describe("buildah"));
        Assert.Equal(hostHadCache, Directory.Exists("/var/lib/containers"));

        var oci = await ImageArchive.ImportAsync(Path.Join(work, "oci.tar"), _box.Store);
        var docker = await ImageArchive.ImportAsync(Path.Join(work, "docker.tar"), _box.Store);

        Assert.Single(oci.Layers);
        Assert.Equal(oci.Layers, docker.Layers);
        Assert.Contains("X=1", oci.Config.Env);
        Assert.Equal("/app", oci.Config.WorkingDir);
        Assert.Equal(oci.Config.Env, docker.Config.Env);
        Assert.Equal("/app", docker.Config.WorkingDir);
        Assert.Equal("hello from buildah\n", File.ReadAllText(_box.In(oci.Layers[0], "app/hello.txt")));
        Assert.Equal("two\n", File.ReadAllText(_box.In(oci.Layers[0], "app/sub/two.txt")));
        Assert.Equal("hello.txt", new FileInfo(_box.In(oci.Layers[0], "app/link")).LinkTarget);
        Assert.Equal([.. oci.Layers.Select(digest => "sha256-" + digest[7..])], Directory.GetFileSystemEntries(_box.Store.Root).Select(Path.GetFileName));
    }
}
