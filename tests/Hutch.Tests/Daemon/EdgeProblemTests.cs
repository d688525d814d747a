using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// What the framework refuses before a handler runs (no route, wrong method, wrong content type, a
/// query value that does not bind) is problem+json with a code like any other error; a JSON body of
/// the wrong type names the field and the JSON type, never a .NET type.
/// </summary>
[Collection(DaemonCollection.Name)]
public class EdgeProblemTests(DaemonFixture fixture)
{
    [Fact]
    public async Task UnknownRoute_IsRouteNotFoundProblem()
    {
        using var http = Raw();
        var response = await http.GetAsync("/v1/nope");

        var problem = await ProblemOf(response);
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.RouteNotFound), (response.StatusCode, problem.Code));
        Assert.Contains("/v1/nope", problem.Detail);
    }

    [Fact]
    public async Task UnknownRoute_WithoutTheKey_IsUnauthorized_NotAMapOfTheApi()
    {
        using var http = Raw();
        http.DefaultRequestHeaders.Authorization = null;
        var response = await http.GetAsync("/v1/nope");

        Assert.Equal((HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized), (response.StatusCode, (await ProblemOf(response)).Code));
    }

    [Fact]
    public async Task WrongMethod_IsMethodNotAllowedProblem_NamingTheMethodsTheRouteTakes()
    {
        using var http = Raw();
        var response = await http.DeleteAsync("/v1/health");

        var problem = await ProblemOf(response);
        Assert.Equal((HttpStatusCode.MethodNotAllowed, ErrorCodes.MethodNotAllowed), (response.StatusCode, problem.Code));
        Assert.Contains("GET", response.Content.Headers.Allow);
        Assert.Contains("GET", problem.Detail);
    }

    [Fact]
    public async Task WrongContentType_IsUnsupportedMediaTypeProblem_AndCreatesNothing()
    {
        using var http = Raw();
        var before = (await fixture.Client.ListSandboxesAsync()).Count;

        var response = await http.PostAsync("/v1/sandboxes", new StringContent("{}", Encoding.UTF8, "text/plain"));

        var problem = await ProblemOf(response);
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType), (response.StatusCode, problem.Code));
        Assert.Contains("application/json", problem.Detail);
        Assert.Equal(before, (await fixture.Client.ListSandboxesAsync()).Count);
    }

    [Fact]
    public async Task RawUpload_WithJsonContentType_SaysWhichTypeItTakes()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Raw();
        var response = await http.PutAsync($"/v1/sandboxes/{sandbox.Id}/files/content?path=a.txt", new StringContent("{}", Encoding.UTF8, "application/json"));

        var problem = await ProblemOf(response);
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType), (response.StatusCode, problem.Code));
        Assert.Contains("application/octet-stream", problem.Detail);
    }

    [Theory]
    [InlineData("GET", "/files?path=a.txt&offset=abc", "offset", "an integer")]
    [InlineData("GET", "/files/list?recursive=yes", "recursive", "true or false")]
    [InlineData("GET", "/files/list?limit=99999999999", "limit", "an integer from")]
    [InlineData("POST", "/processes/p-nope/wait?timeoutMs=x", "timeoutMs", "an integer")]
    [InlineData("DELETE", "?keepWorkspace=maybe", "keepWorkspace", "true or false")]
    [InlineData("GET", "/files/list?recursive=", "recursive", "is empty")]
    [InlineData("GET", "/files/list?limit=1&limit=2", "limit", "given 2 times")]
    public async Task BadQueryValue_Is400_NamingTheParameterAndItsType(string method, string route, string parameter, string type)
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Raw();

        var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/v1/sandboxes/{sandbox.Id}{route}"));

        var problem = await ProblemOf(response);
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidQuery), (response.StatusCode, problem.Code));
        Assert.Contains($"'{parameter}'", problem.Detail);
        Assert.Contains(type, problem.Detail);
        // Refused before the handler ran: a DELETE with a bad flag deleted nothing.
        Assert.Equal(sandbox.Id, (await fixture.Client.GetSandboxAsync(sandbox.Id)).Id);
    }

    [Theory]
    [InlineData("/exec", "{\"command\":\"true\",\"timeoutMs\":\"5\"}", "'timeoutMs' must be an integer")]
    [InlineData("/exec", "{\"argv\":5}", "'argv' must be an array of strings")]
    [InlineData("/exec", "{\"argv\":[\"echo\",5]}", "'argv[1]' must be a string")]
    [InlineData("/exec", "{\"command\":\"true\",\"env\":{\"A\":1}}", "'env.A' must be a string")]
    [InlineData("", "{\"limits\":{\"memoryMiB\":\"256\"}}", "'limits.memoryMiB' must be an integer")]
    [InlineData("", "{\"limits\":5}", "'limits' must be an object")]
    [InlineData("/exec", "[]", "body must be an object")]
    [InlineData("/exec", "{\"command\":", "not valid JSON")]
    public async Task JsonBodyOfTheWrongShape_NamesTheFieldAndTheJsonType_NeverADotNetType(string route, string body, string expected)
    {
        var (status, problem) = await fixture.PostForProblemAsync(route, body);

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidRequest), (status, problem.Code));
        Assert.Contains(expected, problem.Detail);
        Assert.DoesNotContain("System.", problem.Detail);
        Assert.DoesNotContain("Hutch.", problem.Detail);
        Assert.DoesNotContain(".NET", problem.Detail);
    }

    /// <summary>
    /// Walks every operation of /openapi/v1.json with malformed requests: a body of the wrong shape
    /// (broken JSON, an array for an object) and of the wrong content type where the route takes a
    /// body, a value that is no integer or boolean in each such query parameter, an unknown sandbox id,
    /// and a method the path does not take. Every answer that is not 2xx must be problem+json with a
    /// code, and every malformed request must be refused with a 4xx.
    /// Not walked: the ports proxy (/ports/{port}/{**path}) and the TCP tunnel (/tcp/{port}) are not in
    /// the document (they forward whatever the sandbox's server answers, which is that server's own);
    /// PortsTests and TcpTunnelTests cover their own refusals.
    /// </summary>
    [Fact]
    public async Task EveryRouteOfTheOpenApiDocument_RefusesMalformedRequestsWithAProblem()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Raw();
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var sandboxesBefore = (await fixture.Client.ListSandboxesAsync()).Count;
        var failures = new List<string>();
        var operations = 0;
        var requests = 0;

        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            var methods = path.Value.EnumerateObject().Where(o => o.Name is "get" or "put" or "post" or "delete" or "patch").ToList();
            foreach (var operation in methods)
            {
                operations++;
                var method = new HttpMethod(operation.Name.ToUpperInvariant());
                var url = Fill(path.Name, sandbox.Id);
                var parameters = operation.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
                var typedQuery = parameters.Where(q => q.GetProperty("in").GetString() == "query" && TypeOf(q) is "integer" or "boolean")
                    .Select(q => q.GetProperty("name").GetString()!).ToList();
                var bodyType = operation.Value.TryGetProperty("requestBody", out var body)
                    ? body.GetProperty("content").EnumerateObject().First().Name
                    : null;

                if (bodyType is not null)
                {
                    foreach (var malformed in new[] { "{\"x\":", "[]" })
                    {
                        await Check($"{method} {path.Name} with body {malformed} as {bodyType}", method, url, malformed, bodyType, must4xx: true);
                    }
                    await Check($"{method} {path.Name} with a text/plain body", method, url, "hello", "text/plain", must4xx: true);
                }
                foreach (var name in typedQuery)
                {
                    var response = await Check($"{method} {path.Name}?{name}=abc", method, $"{url}?{name}=abc", null, null, must4xx: true);
                    if (response is { } problem && (problem.Code != ErrorCodes.InvalidQuery || !problem.Detail.Contains($"'{name}'")))
                    {
                        failures.Add($"{method} {path.Name}?{name}=abc: {problem.Code} \"{problem.Detail}\" does not name the parameter");
                    }
                }
                if (path.Name.Contains("{id}"))
                {
                    // DELETE of a sandbox is idempotent (204 for an unknown id); every other answer must be a problem.
                    await Check($"{method} {path.Name} for an unknown sandbox", method, Fill(path.Name, "sb-doesnotexist"),
                        bodyType is null ? null : bodyType == "application/json" ? "{}" : "x", bodyType, must4xx: false);
                }
            }
            var other = new[] { "PATCH", "PUT", "DELETE", "POST", "GET" }.First(m => methods.All(o => !o.Name.Equals(m, StringComparison.OrdinalIgnoreCase)));
            var wrong = await Check($"{other} {path.Name} (a method it does not take)", new HttpMethod(other), Fill(path.Name, sandbox.Id), null, null, must4xx: true);
            if (wrong is { } refused && refused.Code != ErrorCodes.MethodNotAllowed)
            {
                failures.Add($"{other} {path.Name}: {refused.Code} instead of {ErrorCodes.MethodNotAllowed}");
            }
        }

        Assert.True(operations >= 50, $"only {operations} operations in /openapi/v1.json");
        Assert.True(failures.Count == 0, $"{failures.Count} of {requests} requests answered wrong:\n{string.Join('\n', failures)}");
        Assert.Equal(sandboxesBefore, (await fixture.Client.ListSandboxesAsync()).Count);
        Assert.Equal(sandbox.Id, (await fixture.Client.GetSandboxAsync(sandbox.Id)).Id);

        async Task<Problem?> Check(string what, HttpMethod method, string url, string? body, string? contentType, bool must4xx)
        {
            requests++;
            using var request = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType!);
            }
            using var response = await http.SendAsync(request);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
            {
                if (must4xx)
                {
                    failures.Add($"{what}: {status}, not refused");
                }
                return null;
            }
            if (must4xx && status is < 400 or >= 500)
            {
                failures.Add($"{what}: {status}, not a 4xx");
            }
            var text = await response.Content.ReadAsStringAsync();
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{what}: {status} with content type '{response.Content.Headers.ContentType}', body '{text}'");
                return null;
            }
            var problem = JsonSerializer.Deserialize(text, ApiJsonContext.Default.Problem);
            if (string.IsNullOrEmpty(problem?.Code) || problem.Status != status)
            {
                failures.Add($"{what}: {status} problem without a code or with another status: {text}");
                return null;
            }
            return problem;
        }
    }

    /// <summary>The path with the sandbox id in {id} and a name no object has in every other parameter.</summary>
    private static string Fill(string template, string id) =>
        System.Text.RegularExpressions.Regex.Replace(template.Replace("{id}", id), @"\{[^}]+\}", "nope");

    /// <summary>"integer" for both {"type":"integer"} and {"type":["integer","string"]} (how .NET describes a query long).</summary>
    private static string? TypeOf(JsonElement parameter)
    {
        if (!parameter.TryGetProperty("schema", out var schema) || !schema.TryGetProperty("type", out var type))
        {
            return null;
        }
        return type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).FirstOrDefault(t => t != "null") : type.GetString();
    }

    private HttpClient Raw() => fixture.RawHttp();

    private static Task<Problem> ProblemOf(HttpResponseMessage response) => DaemonFixture.ProblemOf(response);
}
