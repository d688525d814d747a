using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using Hutch.Daemon.Templates;

namespace Hutch.Tests.Templates;

/// <summary>
/// A small root file system made from this host's own programs and the libraries ldd says they
/// need, laid out as on a merged-/usr Debian (bin, lib, lib64 links into usr): a template's layer for
/// tests, with no registry or package mirror. Owned by root, as an image's files are.
/// </summary>
public static class MinimalRoot
{
    public static readonly string[] Programs = ["/usr/bin/dash", "/usr/bin/cat", "/usr/bin/id", "/usr/bin/ls", "/usr/bin/touch", "/usr/bin/mkdir", "/usr/bin/rm", "/usr/bin/stat", "/usr/bin/chown", "/usr/bin/sleep", "/usr/bin/ln", "/usr/bin/chmod"];

    public static void Build(string root)
    {
        Directory.CreateDirectory(Path.Join(root, "usr", "bin"));
        foreach (var link in new[] { "bin", "lib", "lib64", "sbin" })
        {
            Directory.CreateDirectory(Path.Join(root, "usr", link));
            File.CreateSymbolicLink(Path.Join(root, link), $"usr/{link}");
        }
        foreach (var program in Programs)
        {
            Copy(program, root);
            foreach (var library in Libraries(program))
            {
                Copy(library, root);
            }
        }
        File.CreateSymbolicLink(Path.Join(root, "usr", "bin", "sh"), "dash");
        Directory.CreateDirectory(Path.Join(root, "etc"));
        File.WriteAllText(Path.Join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
        File.WriteAllText(Path.Join(root, "etc", "group"), "root:x:0:\nuser:x:1000:\n");
        File.WriteAllText(Path.Join(root, "etc", "template-file"), "from the template\n");
        Directory.CreateDirectory(Path.Join(root, "srv", "data"));
        File.WriteAllText(Path.Join(root, "srv", "data", "a"), "a\n");
        File.WriteAllText(Path.Join(root, "srv", "data", "b"), "b\n");
    }

    /// <summary>The root as a layer's tar (built in a temporary directory, then removed).</summary>
    public static byte[] Tar()
    {
        var root = Path.Join(Path.GetTempPath(), "hutch-minroot-" + Guid.NewGuid().ToString("N"));
        try
        {
            Build(root);
            var tar = new MemoryStream();
            TarFile.CreateFromDirectory(root, tar, includeBaseDirectory: false);
            return tar.ToArray();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A template of one layer made from this root, put straight into a daemon's store (as an import would, without the archive).</summary>
    public static TemplateRecord AddTemplate(Hutch.Daemon.SandboxEngine engine, string name, string? version, Dictionary<string, string> env,
        string[]? start = null, Hutch.Protocol.Api.ProbeSpec? readiness = null)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        Build(engine.TemplateRoots.Paths.Layer(digest));
        return engine.Templates.Add(name, version, "directory", new TemplateManifest([digest], env, Start: start, Readiness: readiness));
    }

    /// <summary>A host file at the same path under the root, under usr/ when it is under a merged-/usr link.</summary>
    private static void Copy(string hostPath, string root)
    {
        var inside = hostPath.TrimStart('/');
        foreach (var link in new[] { "bin/", "lib/", "lib64/", "sbin/" })
        {
            if (inside.StartsWith(link, StringComparison.Ordinal))
            {
                inside = "usr/" + inside;
            }
        }
        var target = Path.Join(root, inside);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (!File.Exists(target))
        {
            File.Copy(new FileInfo(hostPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? hostPath, target);
        }
    }

    private static IEnumerable<string> Libraries(string program)
    {
        using var ldd = Process.Start(new ProcessStartInfo("ldd", program) { RedirectStandardOutput = true })!;
        var output = ldd.StandardOutput.ReadToEnd();
        ldd.WaitForExit();
        foreach (var line in output.Split('\n'))
        {
            var path = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(word => word.StartsWith('/'));
            if (path is not null)
            {
                yield return path;
            }
        }
    }
}
