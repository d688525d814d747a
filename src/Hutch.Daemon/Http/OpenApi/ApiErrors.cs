using System.Reflection;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// The problem+json answers of each operation, by what the route takes: every route can be refused
/// the key (401) or fail (500); a body or a query can be invalid (400), a body of the wrong type
/// (415) or too large (413); a path with ids names something that may not exist (404); a sandbox may
/// have expired (410) or not be running (409); writes may fill the workspace (507), files in or out be
/// too large (413). Each answer
/// lists the codes of its status (ErrorStatus, the one table) and uses the Problem schema.
/// </summary>
internal static class ApiErrors
{
    public const string ProblemSchema = "Problem";
    private const string ProblemJson = "application/problem+json";
    private const string Sandbox = "/v1/sandboxes/{id}";

    /// <summary>Codes that never reach HTTP: a daemon that cannot start says them on its console.</summary>
    private static readonly HashSet<string> NotOverHttp = [ErrorCodes.DataDirInUse, ErrorCodes.AddressInUse];

    private static readonly ILookup<int, string> CodesByStatus = typeof(ErrorCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .Where(code => !NotOverHttp.Contains(code))
        .ToLookup(ErrorStatus.Of);

    private static readonly Dictionary<int, string> Meaning = new()
    {
        [400] = "The request is invalid; the detail names the field or parameter and what it takes.",
        [401] = "The API key is missing or wrong.",
        [404] = "The sandbox, or what the path names inside it, does not exist.",
        [409] = "The request conflicts with the current state (a sandbox not running, a name taken, a process still running…).",
        [410] = "The sandbox's TTL ended and it was deleted; the detail says when.",
        [413] = "The content is larger than the daemon takes or serves.",
        [415] = "The body's Content-Type is not one the route takes.",
        [429] = "A rate or concurrency limit refused the request: retry after the Retry-After header's seconds.",
        [500] = "Hutch failed unexpectedly; the daemon's log has the details.",
        [503] = "Not possible now (the OCI runtime is unavailable, a limit this host cannot enforce, a delete not finished yet).",
        [507] = "The sandbox's disk quota is full.",
    };

    public static void Apply(OpenApiDocument document)
    {
        var problem = new OpenApiSchemaReference(ProblemSchema, document);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                operation.Responses ??= [];
                foreach (var status in StatusesOf(method.Method, path, operation))
                {
                    operation.Responses.TryAdd(status.ToString(System.Globalization.CultureInfo.InvariantCulture), new OpenApiResponse());
                }
                foreach (var (key, response) in operation.Responses)
                {
                    if (int.TryParse(key, out var status) && status >= 400 && response is OpenApiResponse concrete)
                    {
                        concrete.Description = Describe(status);
                        concrete.Content = new Dictionary<string, OpenApiMediaType> { [ProblemJson] = new() { Schema = problem } };
                    }
                }
                // In order of status, as a reader looks for them (the 429 of a limited route came first).
                var sorted = new OpenApiResponses();
                foreach (var (key, response) in operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal))
                {
                    sorted[key] = response;
                }
                operation.Responses = sorted;
            }
        }
        // The framework's ProblemDetails (from ProducesProblem) is replaced by Hutch's Problem, which adds the code.
        document.Components?.Schemas?.Remove("ProblemDetails");
    }

    private static SortedSet<int> StatusesOf(string method, string path, OpenApiOperation operation)
    {
        var statuses = new SortedSet<int> { 401, 500 };
        if (operation.RequestBody is not null)
        {
            statuses.UnionWith([400, 413, 415]); // 413: a body past the route's cap (Kestrel's 30 MB for JSON bodies)
        }
        if (operation.Parameters?.Any(p => p.In == ParameterLocation.Query) == true)
        {
            statuses.Add(400);
        }
        if (path.Contains('{', StringComparison.Ordinal))
        {
            statuses.Add(404);
        }
        if (path.StartsWith(Sandbox, StringComparison.Ordinal))
        {
            statuses.Add(410);
        }
        if (path.StartsWith(Sandbox + "/", StringComparison.Ordinal) || (method == "POST" && path == "/v1/sandboxes"))
        {
            statuses.Add(409); // sandbox_not_running for everything inside a sandbox; name_taken, too_many_sandboxes at create
        }
        if (method == "POST" && path == "/v1/sandboxes")
        {
            statuses.UnionWith([400, 503]); // runtime_unavailable, limit_unavailable
        }
        if (method == "DELETE" && path == Sandbox)
        {
            statuses.Add(503); // sandbox_delete_incomplete
        }
        var files = path.StartsWith(Sandbox + "/files", StringComparison.Ordinal);
        if (files && !path.EndsWith("/list", StringComparison.Ordinal) && !path.EndsWith("/stat", StringComparison.Ordinal)
            && !path.EndsWith("/mkdir", StringComparison.Ordinal) && !path.EndsWith("/move", StringComparison.Ordinal) && method != "DELETE")
        {
            statuses.Add(413); // file_too_large, archive_too_large
        }
        if ((files && method is "PUT" or "POST") || path.EndsWith("/checkpoints", StringComparison.Ordinal) && method == "POST"
            || path.EndsWith("/reset", StringComparison.Ordinal) || path.Contains("/exec", StringComparison.Ordinal))
        {
            statuses.Add(507); // disk_full: writes, checkpoints, and exec output spilled to the sandbox's own quota
        }
        return statuses;
    }

    private static string Describe(int status)
    {
        var codes = string.Join(", ", CodesByStatus[status].Order(StringComparer.Ordinal));
        return $"{ReasonPhrases.GetReasonPhrase(status)}. {Meaning.GetValueOrDefault(status, "")} Codes: {codes}.".Replace("  ", " ", StringComparison.Ordinal);
    }
}
