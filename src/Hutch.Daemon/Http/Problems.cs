using System.Text.Json;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>RFC 9457 problem+json answers, always with a stable code.</summary>
internal static class Problems
{
    /// <summary>Answers with the code's status (<see cref="ErrorStatus"/>).</summary>
    public static Task WriteAsync(HttpContext context, string code, string detail) => WriteAsync(context, ErrorStatus.Of(code), code, detail);

    public static Task WriteAsync(HttpContext context, CodedException e) => WriteAsync(context, e.Code, e.Message);

    /// <summary>Only for a status the web framework chose itself (a body too large, an unmapped failure), not one of ours.</summary>
    public static Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var problem = new Problem($"https://hutch.dev/errors/{code}", Title(status), status, detail, code);
        return context.Response.WriteAsync(JsonSerializer.Serialize(problem, ApiJsonContext.Default.Problem), context.RequestAborted);
    }


    private static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Payload too large",
        403 => "Forbidden",
        415 => "Unsupported media type",
        429 => "Too many requests",
        507 => "Insufficient storage",
        503 => "Service unavailable",
        _ => status >= 500 ? "Server error" : "Request refused",
    };
}
