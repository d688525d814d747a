using System.Text.Json;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>RFC 9457 problem+json answers, always with a stable code.</summary>
internal static class Problems
{
    public static Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var problem = new Problem($"https://hutch.dev/errors/{code}", Title(status), status, detail, code);
        return context.Response.WriteAsync(JsonSerializer.Serialize(problem, ApiJsonContext.Default.Problem), context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, HutchException e) => WriteAsync(context, e.Status, e.Code, e.Message);

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
