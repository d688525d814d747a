using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// Packages the tests make themselves, and the static files that serve them as a package index
/// (from <see cref="EgressUpstreams.Publish"/>): a Debian package of one script, built with
/// dpkg-deb, in a flat apt repository; a pure-Python wheel of one module, in a pip "simple" index.
/// Nothing here comes from, or names, a real registry.
/// </summary>
public static class TestPackages
{
    /// <summary>The Debian bases eng/test.sh makes once with `hutch template debian --save` and keeps.</summary>
    public static string DebianRootfs => Rootfs("HUTCH_TEST_DEBIAN_ROOTFS", "hutch template debian --save FILE");

    /// <summary>The same base with python3 and pip (`--include python3-pip`).</summary>
    public static string DebianPythonRootfs => Rootfs("HUTCH_TEST_DEBIAN_PYTHON_ROOTFS", "hutch template debian --include python3-pip --save FILE");

    private static string Rootfs(string variable, string command) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{variable} names no file: eng/test.sh makes it once with `{command}` (under /var/cache/hutch-tests/)");

    /// <summary>A package <paramref name="name"/> 1.0 (architecture all) that installs /usr/bin/NAME, a script printing <paramref name="says"/>.</summary>
    public static byte[] Deb(string name = "hutch-hello", string says = "hello from a package")
    {
        var dir = Path.Join(Path.GetTempPath(), "hutch-deb-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Join(dir, "DEBIAN"));
            Directory.CreateDirectory(Path.Join(dir, "usr", "bin"));
            File.WriteAllText(Path.Join(dir, "DEBIAN", "control"), Control(name) + "\n");
            File.WriteAllText(Path.Join(dir, "usr", "bin", name), $"#!/bin/sh\necho {says}\n");
            File.SetUnixFileMode(Path.Join(dir, "usr", "bin", name), (UnixFileMode)0b111_101_101);
            using var build = Process.Start(new ProcessStartInfo("dpkg-deb", ["--root-owner-group", "--build", dir, dir + ".deb"]) { RedirectStandardOutput = true })!;
            build.WaitForExit();
            Assert.Equal(0, build.ExitCode);
            return File.ReadAllBytes(dir + ".deb");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            File.Delete(dir + ".deb");
        }
    }

    private static string Control(string name) =>
        $"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Hutch tests <tests@localhost>\nDescription: says hello";

    /// <summary>
    /// A flat apt repository (sources.list(5): <c>deb [trusted=yes] URI ./</c>) of packages made by
    /// <see cref="Deb"/>: the .deb files, their <c>Packages</c> index (the fields apt reads:
    /// deb-control(5) plus Filename, Size and SHA256, as dpkg-scanpackages writes them) and an unsigned
    /// <c>Release</c> listing it, which <c>trusted=yes</c> lets apt take.
    /// </summary>
    public static Dictionary<string, byte[]> AptRepository(params (string Name, byte[] Deb)[] packages)
    {
        var files = new Dictionary<string, byte[]>();
        var index = new StringBuilder();
        foreach (var (name, deb) in packages)
        {
            var file = $"{name}_1.0_all.deb";
            files[file] = deb;
            index.Append(CultureInfo.InvariantCulture, $"{Control(name)}\nFilename: ./{file}\nSize: {deb.Length}\nSHA256: {Convert.ToHexStringLower(SHA256.HashData(deb))}\n\n");
        }
        var packagesFile = Encoding.UTF8.GetBytes(index.ToString());
        files["Packages"] = packagesFile;
        // A Date in the past: apt refuses a Release "not valid yet".
        var date = DateTimeOffset.UtcNow.AddDays(-1).ToString("ddd, dd MMM yyyy HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        files["Release"] = Encoding.UTF8.GetBytes(
            $"Origin: hutch-tests\nLabel: hutch-tests\nDate: {date}\nSHA256:\n {Convert.ToHexStringLower(SHA256.HashData(packagesFile))} {packagesFile.Length} Packages\n");
        return files;
    }

    /// <summary>A pure-Python wheel (PEP 427) of one package <paramref name="name"/> whose <c>__init__.py</c> is <paramref name="module"/>, with a RECORD pip checks.</summary>
    public static byte[] Wheel(string name, string version, string module)
    {
        var info = $"{name}-{version}.dist-info";
        var files = new Dictionary<string, string>
        {
            [$"{name}/__init__.py"] = module,
            [$"{info}/METADATA"] = $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            [$"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: hutch-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        };
        var record = new StringBuilder();
        foreach (var (path, text) in files)
        {
            var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            record.Append(CultureInfo.InvariantCulture, $"{path},sha256={hash},{Encoding.UTF8.GetByteCount(text)}\n");
        }
        files[$"{info}/RECORD"] = record.Append(CultureInfo.InvariantCulture, $"{info}/RECORD,,\n").ToString();
        using var bytes = new MemoryStream();
        using (var zip = new ZipArchive(bytes, ZipArchiveMode.Create))
        {
            foreach (var (path, text) in files)
            {
                using var entry = new StreamWriter(zip.CreateEntry(path).Open());
                entry.Write(text);
            }
        }
        return bytes.ToArray();
    }

    /// <summary>The file name pip expects of <see cref="Wheel"/>'s wheel.</summary>
    public static string WheelFile(string name, string version) => $"{name}-{version}-py3-none-any.whl";

    /// <summary>
    /// A PEP 503 "simple" index page for <paramref name="name"/> (publish it at <c>/simple/NAME/</c>)
    /// linking its wheel at <paramref name="wheelUrl"/>.
    /// </summary>
    public static byte[] SimpleIndexPage(string wheelUrl, string wheelFile) =>
        Encoding.UTF8.GetBytes($"<html><body><a href=\"{wheelUrl}\">{wheelFile}</a></body></html>");
}
