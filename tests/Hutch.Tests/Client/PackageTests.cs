using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Client;

/// <summary>
/// The SDK as a user gets it: packed into a local feed, referenced as a package (not the project) by a
/// console app whose Program.cs is the README's C# snippet, built, and run against the real daemon.
/// </summary>
[Collection(DaemonCollection.Name)]
public partial class PackageTests(DaemonFixture fixture)
{
    [Fact]
    public async Task ReadmeSnippet_BuiltAgainstThePackedPackage_RunsACommandAndPrintsBothStreams()
    {
        var root = TestPaths.RepoRoot;
        var work = TestPaths.NewTempDir("hutch-pack");
        try
        {
            // A version of its own: the consumer can only get it from this feed, never a cache or another source.
            var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
            var feed = Directory.CreateDirectory(Path.Join(work, "feed")).FullName;
            // The projects are built already (dotnet test built them, in the configuration of this assembly): pack what was built.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/Release/net10.0/
            foreach (var project in new[] { "Hutch.Protocol", "Hutch.Client" })
            {
                var pack = await Dotnet(root, "pack", Path.Join(root, "src", project), "-c", configuration, "--no-build", "-o", feed, $"-p:Version={version}");
                Assert.True(pack.Code == 0, pack.Describe($"dotnet pack {project}"));
            }
            AssertPackageContents(Path.Join(feed, $"Hutch.Client.{version}.nupkg"));

            var app = Directory.CreateDirectory(Path.Join(work, "app")).FullName;
            // The local feed added to the machine's own sources (this config does not <clear/> them):
            // no host is named here, and Hutch.* resolves from the feed by its version.
            await File.WriteAllTextAsync(Path.Join(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="hutch-local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Join(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Hutch.Client" Version="[{version}]" />
                  </ItemGroup>
                </Project>
                """);
            var snippet = ReadmeSnippet(Path.Join(root, "README.md"));
            await File.WriteAllTextAsync(Path.Join(app, "Program.cs"), snippet);
            Assert.Equal(snippet, ReadmeSnippet(Path.Join(root, "src", "Hutch.Client", "README.md")));

            // A package cache of its own: the packed version is unpacked fresh, and the machine's cache keeps no test versions.
            var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Join(work, "packages") };
            // A machine source that cannot be reached is no failure: Hutch.* comes from the feed, and nothing else is needed.
            var build = await Dotnet(app, env, "build", "-c", "Release", "--disable-build-servers", "-p:RestoreIgnoreFailedSources=true");
            Assert.True(build.Code == 0, build.Describe("dotnet build of the README's snippet"));
            Assert.True(File.Exists(Path.Join(work, "packages", "hutch.client", version, $"hutch.client.{version}.nupkg")), "Hutch.Client did not come from the packed package");
            Assert.False(File.Exists(Path.Join(app, "bin", "Release", "net10.0", "Hutch.Client.pdb")), "the PDB should be inside the DLL");

            var before = (await fixture.Client.ListSandboxesAsync()).Count;
            var run = await ToolProcess.RunAsync("dotnet", [Path.Join(app, "bin", "Release", "net10.0", "app.dll")], app, TimeSpan.FromSeconds(60),
                new Dictionary<string, string> { ["HUTCH_URL"] = fixture.Daemon.Url, ["HUTCH_API_KEY"] = fixture.ApiKey });

            Assert.True(run.Code == 0, run.Describe("the README's snippet"));
            Assert.Equal("hello\nexit 3\nout 1\nout 2\nexit 0\n", run.Stdout);
            Assert.Equal("oops\nerr 1\n", run.Stderr);
            Assert.Equal(before, (await fixture.Client.ListSandboxesAsync()).Count); // it deleted its sandbox
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The package carries the README, the XML docs, and a PDB with every source file inside the DLL, and names the commit it was built from.</summary>
    private static void AssertPackageContents(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", names);
        Assert.Contains("lib/net10.0/Hutch.Client.dll", names);
        Assert.Contains("lib/net10.0/Hutch.Client.xml", names);

        using (var nuspecStream = zip.GetEntry("Hutch.Client.nuspec")!.Open())
        {
            var metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal("Hutch.Client", Field("id"));
            Assert.Equal("README.md", Field("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            var dependency = metadata.Descendants().Single(e => e.Name.LocalName == "dependency");
            Assert.Equal("Hutch.Protocol", dependency.Attribute("id")?.Value);
            // SourceLink's commit: always there in a git clone; the URL only when origin is on a host SourceLink knows.
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
        }

        using var dll = new MemoryStream();
        using (var entry = zip.GetEntry("lib/net10.0/Hutch.Client.dll")!.Open())
        {
            entry.CopyTo(dll);
        }
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var embedded = pe.ReadDebugDirectory().Single(d => d.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
        using var pdbProvider = pe.ReadEmbeddedPortablePdbDebugDirectoryData(embedded);
        var pdb = pdbProvider.GetMetadataReader();
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE"); // the portable PDB's EmbeddedSource kind
        var withSource = pdb.Documents
            .Where(d => pdb.GetCustomDebugInformation(d).Any(c => pdb.GetGuid(pdb.GetCustomDebugInformation(c).Kind) == embeddedSource))
            .Select(d => pdb.GetString(pdb.GetDocument(d).Name))
            .ToList();
        Assert.Contains(withSource, name => name.EndsWith("HutchClient.Exec.cs", StringComparison.Ordinal));
    }

    /// <summary>The first C# block of a markdown file, as the file has it.</summary>
    private static string ReadmeSnippet(string markdown)
    {
        var match = CSharpBlock().Match(File.ReadAllText(markdown));
        Assert.True(match.Success, $"{markdown} has no ```csharp block");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static Task<ToolProcess.Result> Dotnet(string cwd, params string[] args) => Dotnet(cwd, null, args);

    private static Task<ToolProcess.Result> Dotnet(string cwd, Dictionary<string, string>? env, params string[] args) =>
        ToolProcess.RunAsync("dotnet", args, cwd, TimeSpan.FromMinutes(3), env);
}
