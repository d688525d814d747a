using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;

namespace Hutch.Daemon.Http;

/// <summary>
/// The refusals ASP.NET Core makes before a handler runs (no route, wrong method, wrong content type,
/// a query value that does not bind), as problem+json with a code like every other error. Without
/// this they are bodiless 404/405/415/400 answers.
/// </summary>
internal static class EdgeProblems
{
    /// <summary>
    /// Query values that do not bind throw (instead of a bodiless 400) so the daemon's error middleware
    /// can name the parameter: see <see cref="DescribeBadQuery"/>.
    /// </summary>
    public static void AddEdgeProblems(this IServiceCollection services) =>
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

    /// <summary>Gives every bodiless error answer a problem+json body. After the key check, before the routes.</summary>
    public static void UseEdgeProblems(this WebApplication app) =>
        app.UseStatusCodePages(new StatusCodePagesOptions { HandleAsync = status => WriteAsync(status.HttpContext) });

    private static Task WriteAsync(HttpContext context)
    {
        var request = context.Request;
        var what = $"{request.Method} {request.Path}";
        return context.Response.StatusCode switch
        {
            404 => Problems.WriteAsync(context, ErrorCodes.RouteNotFound,
                $"No route matches {what}. The routes are listed in /openapi/v1.json."),
            405 => Problems.WriteAsync(context, ErrorCodes.MethodNotAllowed,
                $"{request.Path} does not take {request.Method}; it takes {AllowOf(context)}. See /openapi/v1.json."),
            415 => Problems.WriteAsync(context, ErrorCodes.UnsupportedMediaType,
                $"{what} does not take a body of type {(string.IsNullOrEmpty(request.ContentType) ? "(none)" : request.ContentType)}; send it as {AcceptedBy(context)}."),
            var status and >= 500 => Problems.WriteAsync(context, status, ErrorCodes.Internal, "Hutch failed unexpectedly; the daemon's log has the details."),
            var status => Problems.WriteAsync(context, status, ErrorCodes.InvalidRequest, $"{what} was refused. Check the request against /openapi/v1.json."),
        };
    }

    private static string AllowOf(HttpContext context) =>
        context.Response.Headers.Allow is { Count: > 0 } allow ? allow.ToString() : "other methods";

    /// <summary>
    /// The content types of the routes this path and method would reach. The routing matcher that
    /// answered 415 keeps them to itself, so they are found again from the route table.
    /// </summary>
    private static string AcceptedBy(HttpContext context)
    {
        var request = context.Request;
        var types = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in context.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not { } accepts
                || endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods
                || !methods.HttpMethods.Contains(request.Method, StringComparer.OrdinalIgnoreCase)
                || endpoint.RoutePattern.RawText is not { } pattern
                || !new TemplateMatcher(TemplateParser.Parse(pattern), new RouteValueDictionary()).TryMatch(request.Path, new RouteValueDictionary()))
            {
                continue;
            }
            types.UnionWith(accepts.ContentTypes);
        }
        return types.Count == 0 ? "application/json" : string.Join(" or ", types);
    }

    /// <summary>
    /// When a query value does not bind (?offset=abc), the parameter it was for, the type it takes and
    /// the value given, found again from the handler's parameters: the framework's own message names
    /// .NET types ("long? offset"). Null when no query value is at fault.
    /// </summary>
    public static string? DescribeBadQuery(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>() is not { } handler)
        {
            return null;
        }
        foreach (var parameter in handler.GetParameters())
        {
            var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
            if (parameter.Name is not { } name || context.Request.RouteValues.ContainsKey(name)
                || !context.Request.Query.TryGetValue(name, out var values) || values.ToString() is not { } value
                || Binds(type, value))
            {
                continue;
            }
            if (value.Length == 0)
            {
                return $"The query parameter '{name}' is empty: give {JsonTypeWords.Of(type)}, or leave it out.";
            }
            var shown = value.Length > 40 ? value[..40] + "…" : value;
            return values.Count > 1
                ? $"The query parameter '{name}' is given {values.Count} times; give it once, as {JsonTypeWords.Of(type)}."
                : $"The query parameter '{name}' must be {JsonTypeWords.Of(type)}, not '{shown}'.";
        }
        return null;
    }

    /// <summary>
    /// A binding failure's message without the .NET type the framework puts in it
    /// ("Failed to bind parameter "Nullable&lt;bool&gt; recursive" from …" → "… parameter 'recursive' …").
    /// </summary>
    public static string Scrub(string message) =>
        Regex.Replace(message, "parameter \"(?:[^\"]* )?([A-Za-z_][A-Za-z0-9_]*)\"", "parameter '$1'");

    /// <summary>Whether minimal APIs would bind this value (they use the type's TryParse with the invariant culture).</summary>
    private static bool Binds(Type type, string value) => type switch
    {
        _ when type == typeof(bool) => bool.TryParse(value, out _),
        _ when type == typeof(int) => int.TryParse(value, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(long) => long.TryParse(value, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(double) => double.TryParse(value, CultureInfo.InvariantCulture, out _),
        _ => true,
    };
}
