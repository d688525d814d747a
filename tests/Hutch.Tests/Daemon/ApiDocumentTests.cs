using System.Text.Json;
using System.Text.Json.Nodes;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// The OpenAPI document the daemon serves: complete enough for a generator (security, operationIds,
/// problem answers, enums, a description on every field, closed request objects), clean under
/// `redocly lint`, equal to the checked-in docs/openapi.json, and good for a working generated client.
/// </summary>
[Collection(DaemonCollection.Name)]
public class ApiDocumentTests(DaemonFixture fixture)
{
    private static string CheckedIn => Path.Join(TestPaths.RepoRoot, "docs", "openapi.json");

    private async Task<JsonObject> ServedAsync()
    {
        using var http = fixture.RawHttp();
        return JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!.AsObject();
    }

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations(JsonObject doc) =>
        doc["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()
            .Where(m => m.Key is "get" or "put" or "post" or "delete" or "patch")
            .Select(m => (p.Key, m.Key, m.Value!.AsObject())));

    [Fact]
    public async Task EveryOperation_HasAStableOperationId_TheBearerKey_AndProblemAnswers()
    {
        var doc = await ServedAsync();
        var scheme = doc["components"]!["securitySchemes"]!["apiKey"]!;
        Assert.Equal(("http", "bearer"), ((string?)scheme["type"], (string?)scheme["scheme"]));
        Assert.Equal("apiKey", doc["security"]![0]!.AsObject().Single().Key); // every route needs the key, this document too

        var ids = new HashSet<string>();
        var failures = new List<string>();
        foreach (var (path, method, operation) in Operations(doc))
        {
            var id = (string?)operation["operationId"];
            if (id is null || !ids.Add(id) || !char.IsLower(id[0]))
            {
                failures.Add($"{method} {path}: operationId '{id}' missing, repeated or not camelCase");
            }
            var responses = operation["responses"]!.AsObject();
            foreach (var status in new[] { "401", "500" }.Concat(path.Contains('{') ? ["404"] : []).Concat(operation["requestBody"] is null ? [] : ["400", "415"]))
            {
                var problem = responses[status]?["content"]?["application/problem+json"]?["schema"]?["$ref"];
                if ((string?)problem != "#/components/schemas/Problem")
                {
                    failures.Add($"{method} {path}: no {status} problem answer");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal("createSandbox", (string?)doc["paths"]!["/v1/sandboxes"]!["post"]!["operationId"]);
        Assert.Equal("execCommand", (string?)doc["paths"]!["/v1/sandboxes/{id}/exec"]!["post"]!["operationId"]);
        Assert.Contains("code", doc["components"]!["schemas"]!["Problem"]!["properties"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task EveryFieldAndParameter_HasADescription_AndRequestObjectsRefuseUnknownMembers()
    {
        var doc = await ServedAsync();
        var schemas = doc["components"]!["schemas"]!.AsObject();
        var undescribed = schemas
            .SelectMany(s => (s.Value!["properties"]?.AsObject() ?? []).Select(p => (Schema: s.Key, Property: p.Key, Node: p.Value!)))
            .Where(p => p.Property != "type" || p.Node["enum"] is null) // an event's discriminator says itself
            .Where(p => string.IsNullOrWhiteSpace((string?)p.Node["description"]))
            .Select(p => $"{p.Schema}.{p.Property}")
            .ToList();
        Assert.True(undescribed.Count == 0, $"fields without a description (document them in src/Hutch.Protocol/Api): {string.Join(", ", undescribed)}");
        var parameters = Operations(doc)
            .SelectMany(o => (o.Operation["parameters"]?.AsArray() ?? []).Select(p => (o.Method, o.Path, Parameter: p!)))
            .Where(p => string.IsNullOrWhiteSpace((string?)p.Parameter["description"]))
            .Select(p => $"{p.Method} {p.Path} {p.Parameter["name"]}")
            .ToList();
        Assert.True(parameters.Count == 0, $"parameters without a description (add them to ApiParameters): {string.Join(", ", parameters)}");

        Assert.Equal(false, (bool?)schemas["ExecRequest"]!["additionalProperties"]);
        Assert.Equal(false, (bool?)schemas["SandboxLimits"]!["additionalProperties"]); // nested in a request
        Assert.Null(schemas["ExecResult"]!["additionalProperties"]); // answers stay open
        Assert.Contains("integer", schemas["ExecRequest"]!["properties"]!["timeoutMs"]!["type"]!.ToJsonString());
        Assert.DoesNotContain("\"string\"", schemas["ExecRequest"]!["properties"]!["timeoutMs"]!["type"]!.ToJsonString()); // numbers are numbers
        Assert.Equal(["running", "lost", "deleting", "deleted"], schemas["SandboxInfo"]!["properties"]!["state"]!["enum"]!.AsArray().Select(v => (string?)v));
    }

    /// <summary>docs/openapi.json is the served document (with the default address as its server): refresh it with HUTCH_UPDATE_OPENAPI=1 and this test.</summary>
    [Fact]
    public async Task CheckedInDocument_IsWhatTheDaemonServes()
    {
        var doc = await ServedAsync();
        // The test daemon's address becomes the default one (hutch serve's): a client sets its own base URL anyway.
        doc["servers"] = new JsonArray(new JsonObject { ["url"] = "http://127.0.0.1:7311" });
        var served = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("HUTCH_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(CheckedIn, served);
        }
        Assert.True(File.Exists(CheckedIn) && await File.ReadAllTextAsync(CheckedIn) == served,
            "docs/openapi.json differs from the document the daemon serves: run this test with HUTCH_UPDATE_OPENAPI=1 and commit the file");
    }

    [Fact]
    public async Task RedoclyLint_FindsNoErrors()
    {
        var tools = await NpmTools.DirectoryAsync();
        var work = TestPaths.NewTempDir("hutch-lint");
        try
        {
            var file = Path.Join(work, "openapi.json");
            await File.WriteAllTextAsync(file, (await ServedAsync()).ToJsonString());
            var lint = await ToolProcess.RunAsync(Path.Join(tools, "node_modules", ".bin", "redocly"), ["lint", file, "--format", "stylish"], work, TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" });
            Assert.True(lint.Code == 0, lint.Describe("redocly lint"));
            Assert.DoesNotContain(" error ", lint.Stdout + lint.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// openapi-typescript turns the document into types, openapi-fetch is the client, tsc checks a
    /// small program strictly (a wrong field or a missing operation would not compile), and node runs
    /// it against the daemon: create a sandbox, run a command, read a typed problem, delete.
    /// </summary>
    [Fact]
    public async Task GeneratedTypeScriptClient_Compiles_CreatesASandbox_AndRunsACommand()
    {
        var tools = await NpmTools.DirectoryAsync();
        var work = TestPaths.NewTempDir("hutch-ts");
        try
        {
            File.CreateSymbolicLink(Path.Join(work, "node_modules"), Path.Join(tools, "node_modules"));
            await File.WriteAllTextAsync(Path.Join(work, "openapi.json"), (await ServedAsync()).ToJsonString());
            await File.WriteAllTextAsync(Path.Join(work, "package.json"), """{ "type": "module", "private": true }""");
            await File.WriteAllTextAsync(Path.Join(work, "tsconfig.json"), """
                { "compilerOptions": { "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext",
                  "lib": ["es2022", "dom"], "types": [], "strict": true, "noUncheckedIndexedAccess": true, "skipLibCheck": true },
                  "files": ["client.ts"] }
                """);
            await File.WriteAllTextAsync(Path.Join(work, "client.ts"), """
                import createClient from "openapi-fetch";
                import type { paths } from "./api.js";

                declare const process: { env: Record<string, string | undefined> };
                const client = createClient<paths>({
                  baseUrl: process.env.HUTCH_URL!,
                  headers: { Authorization: `Bearer ${process.env.HUTCH_API_KEY}` },
                });

                const created = await client.POST("/v1/sandboxes", { body: { limits: { memoryMiB: 256 }, labels: { from: "typescript" } } });
                if (!created.data) throw new Error(`create failed: ${created.error?.code}`);
                const id: string = created.data.id;
                try {
                  const ran = await client.POST("/v1/sandboxes/{id}/exec", {
                    params: { path: { id } },
                    body: { command: "echo hello; echo oops >&2; exit 3", timeoutMs: 10000 },
                  });
                  if (!ran.data) throw new Error(`exec failed: ${ran.error?.code}`);
                  const exitCode: number | null | undefined = ran.data.exitCode;
                  console.log(JSON.stringify({ exitCode, stdout: ran.data.stdout, stderr: ran.data.stderr }));

                  const missing = await client.GET("/v1/sandboxes/{id}", { params: { path: { id: "sb-nosuchsandbox" } } });
                  const code: string | undefined = missing.error?.code;
                  console.log(JSON.stringify({ status: missing.response.status, code }));
                } finally {
                  const deleted = await client.DELETE("/v1/sandboxes/{id}", { params: { path: { id } } });
                  console.log(JSON.stringify({ deleted: deleted.response.status }));
                }
                """);
            var bin = Path.Join(tools, "node_modules", ".bin");
            var generate = await ToolProcess.RunAsync(Path.Join(bin, "openapi-typescript"), ["openapi.json", "-o", "api.d.ts"], work, TimeSpan.FromMinutes(1));
            Assert.True(generate.Code == 0, generate.Describe("openapi-typescript"));
            var compile = await ToolProcess.RunAsync(Path.Join(bin, "tsc"), ["-p", "."], work, TimeSpan.FromMinutes(2));
            Assert.True(compile.Code == 0, compile.Describe("tsc"));

            var before = (await fixture.Client.ListSandboxesAsync()).Count;
            var run = await ToolProcess.RunAsync("node", ["client.js"], work, TimeSpan.FromMinutes(1),
                new Dictionary<string, string> { ["HUTCH_URL"] = fixture.Daemon.Url, ["HUTCH_API_KEY"] = fixture.ApiKey });
            Assert.True(run.Code == 0, run.Describe("node client.js"));
            Assert.Equal("""
                {"exitCode":3,"stdout":"hello\n","stderr":"oops\n"}
                {"status":404,"code":"sandbox_not_found"}
                {"deleted":204}

                """, run.Stdout);
            Assert.Equal(before, (await fixture.Client.ListSandboxesAsync()).Count);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
