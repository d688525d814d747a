using Hutch.Protocol.Redaction;
using Hutch.Daemon.Http;
using System.Security.Cryptography;
using System.Text;
using Hutch.Files;
using Hutch.Files.Archives;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Files;

/// <summary>
/// The /v1/sandboxes/{id}/files routes: JSON for small reads and writes and for the tree
/// operations; raw byte streams for uploads and downloads, so a large file never sits in memory.
/// </summary>
internal static class FileEndpoints
{
    /// <summary>The most a JSON read returns; larger files are downloaded as a stream or read in ranges.</summary>
    public const long MaxJsonReadBytes = 64 << 20;
    private const long DefaultJsonReadBytes = 10 << 20;
    private const int DefaultListLimit = 200_000;
    private const int MaxListLimit = 1_000_000;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A text read's bytes with the sandbox's secrets redacted: the range is looked at with the
    /// longest form's length of context each side, so no value is missed because a range cut it.
    /// </summary>
    private static (byte[] Bytes, int Replaced) Redacted(Workspace workspace, RedactionSet set, string path, long offset, byte[] bytes)
    {
        if (set.Count == 0)
        {
            return (bytes, 0);
        }
        var margin = set.Longest - 1;
        var before = (int)Math.Min(offset, margin);
        var (head, _) = workspace.ReadBytes(path, offset - before, before, margin);
        var (tail, _) = workspace.ReadBytes(path, offset + bytes.Length, margin, margin);
        var (shown, replaced) = Redactor.RedactRange(set, [.. head, .. bytes, .. tail], head.Length, bytes.Length);
        return replaced == 0 ? (bytes, 0) : (shown, replaced);
    }

    public static void Map(IEndpointRouteBuilder app, FileService files, HutchOptions options)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/files");

        group.MapGet("/", (string id, string? path, long? offset, long? length, long? maxBytes, string? encoding, HttpContext http) =>
            {
                var limit = Math.Clamp(maxBytes ?? DefaultJsonReadBytes, 0, MaxJsonReadBytes);
                using var workspace = files.OpenWorkspace(id);
                var (bytes, size) = workspace.ReadBytes(Required(path, "path"), offset ?? 0, length, limit);
                var (shown, redacted) = Redacted(workspace, files.RedactionOf(id), path!, offset ?? 0, bytes);
                SourceRedacted.Mark(http);
                var (used, content) = Encode(shown, encoding);
                return TypedResults.Ok(new FileContent(WorkspacePath.Relative(path), size, offset ?? 0, bytes.Length,
                    Convert.ToHexStringLower(SHA256.HashData(shown)), used, content, redacted > 0 ? redacted : null));
            })
            .WithSummary("Read a file (or a range of it) as UTF-8 text or base64");

        group.MapPut("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.WriteFileRequest, new WriteFileRequest());
                var bytes = Decode(request.Content, request.Encoding);
                using var workspace = files.OpenWorkspace(id);
                using var content = new MemoryStream(bytes, writable: false);
                return TypedResults.Ok(await workspace.WriteAsync(Required(request.Path, "path"), content,
                    new WriteOptions(Modes.Parse(request.Mode), request.CreateParents ?? true, request.Overwrite ?? true, options.MaxFileBytes), ct));
            })
            .Accepts<WriteFileRequest>("application/json")
            .WithSummary("Write a whole file atomically from UTF-8 text or base64");

        group.MapGet("/content", async (string id, string? path, HttpContext context) =>
            {
                FileStream stream;
                long size;
                using (var workspace = files.OpenWorkspace(id))
                {
                    stream = workspace.OpenRead(Required(path, "path"), out size);
                }
                if (Download.ServedLength(context.Request, size) > options.MaxFileBytes)
                {
                    await stream.DisposeAsync();
                    throw Download.TooLarge(Required(path, "path"), size, options.MaxFileBytes);
                }
                files.RecordRawRead(id, $"The content of '{path}' ({size} bytes)");
                if (context.Request.Headers.Range.Count > 0)
                {
                    await TypedResults.Stream(stream, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(context);
                    return;
                }
                await using (stream)
                {
                    await Download.SendAsync(context.Response, stream.SafeFileHandle, size, context.RequestAborted);
                }
            })
            .WithSummary("Download a file as a byte stream (Range requests supported)");

        group.MapPut("/content", async (string id, string? path, string? mode, bool? createParents, bool? overwrite, bool? hash, HttpContext context) =>
            {
                BodyDrain.AllowLargeBody(context);
                using var workspace = files.OpenWorkspace(id);
                var write = new WriteOptions(Modes.Parse(mode), createParents ?? true, overwrite ?? true, options.MaxFileBytes, hash ?? false);
                var target = Required(path, "path");
                return await BodyDrain.RunAsync(context, async () => TypedResults.Ok(await workspace.WriteAsync(target,
                    (file, ct) => Upload.WriteBodyAsync(context.Request.BodyReader, file, write, target, ct), write, context.RequestAborted)));
            })
            .Accepts<Stream>("application/octet-stream")
            .WithSummary("Upload a file from a byte stream, atomically (it appears whole or not at all); hash=true adds its sha256");

        group.MapGet("/list", (string id, string? path, bool? recursive, bool? hidden, int? limit, bool? hash) =>
            {
                using var workspace = files.OpenWorkspace(id);
                return TypedResults.Ok(workspace.List(path ?? "", recursive ?? false, hidden ?? true, ListLimit(limit), hash ?? false));
            })
            .WithSummary("List a directory, optionally recursively, optionally with each file's sha256");

        group.MapGet("/stat", (string id, string? path) =>
            {
                using var workspace = files.OpenWorkspace(id);
                return TypedResults.Ok(workspace.Stat(path ?? ""));
            })
            .WithSummary("Describe one entry (a symlink is described, not followed)");

        group.MapPost("/mkdir", async (string id, HttpRequest http) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.MakeDirectoryRequest, new MakeDirectoryRequest());
                using var workspace = files.OpenWorkspace(id);
                return TypedResults.Ok(workspace.MakeDirectory(Required(request.Path, "path"), request.Parents ?? false));
            })
            .Accepts<MakeDirectoryRequest>("application/json")
            .WithSummary("Create a directory (with parents=true, its missing parents too)");

        group.MapDelete("/", (string id, string? path, bool? recursive) =>
            {
                using var workspace = files.OpenWorkspace(id);
                workspace.Delete(Required(path, "path"), recursive ?? false);
                return TypedResults.NoContent();
            })
            .WithSummary("Delete a file, symlink or (with recursive=true) directory");

        group.MapPost("/move", async (string id, HttpRequest http) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.MoveRequest, new MoveRequest());
                using var workspace = files.OpenWorkspace(id);
                return TypedResults.Ok(workspace.Move(Required(request.From, "from"), Required(request.To, "to"), request.Overwrite ?? false, request.CreateParents ?? true));
            })
            .Accepts<MoveRequest>("application/json")
            .WithSummary("Move or rename a file or directory atomically");

        group.MapPost("/import", async (string id, string? path, bool? baseline, HttpContext context) =>
            {
                BodyDrain.AllowLargeBody(context);
                return await BodyDrain.RunAsync(context, async () =>
                    TypedResults.Ok(await files.ImportAsync(id, path ?? "", context.Request.Body, baseline ?? true, context.RequestAborted)));
            })
            .Accepts<Stream>("application/x-tar", "application/gzip")
            .WithSummary("Unpack a tar (plain or gzip) into a directory, all or nothing; by default it becomes the baseline");

        group.MapGet("/export", (string id, string? path, long? maxBytes, HttpContext context) => ExportAsync(id, new ExportRequest(path ?? "", MaxBytes: maxBytes), context))
            .Produces(200, contentType: "application/x-tar")
            .WithSummary("Stream a file, directory or symlink as a tar");

        group.MapPost("/export", async (string id, HttpContext context) =>
                await ExportAsync(id, await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExportRequest, new ExportRequest()), context))
            .Accepts<ExportRequest>("application/json")
            .Produces(200, contentType: "application/x-tar")
            .WithSummary("Stream chosen entries under a path as a tar");

        async Task ExportAsync(string id, ExportRequest request, HttpContext context)
        {
            var maxBytes = ExportLimits.Resolve(request.MaxBytes);
            using var workspace = files.OpenWorkspace(id);
            files.RecordRawRead(id, $"An export of '{(request.Path is { Length: > 0 } p ? p : ".")}'");
            context.Response.ContentType = "application/x-tar";
            // Errors about the path come before the first byte, so they are still problems; a failure
            // later cuts the stream before the tar's end marker, which readers report as truncated.
            await ArchiveExporter.ExportAsync(workspace, request.Path, request.Include, context.Response.Body, maxBytes, context.RequestAborted);
        }

        group.MapPost("/patch", async (string id, HttpRequest http) =>
            {
                var diff = await ReadPatchAsync(http);
                using var workspace = files.OpenWorkspace(id);
                return TypedResults.Ok(workspace.ApplyPatch(diff));
            })
            .Accepts<PatchRequest>("application/json", "text/x-diff", "text/plain")
            .WithSummary("Apply a unified diff (git style) all or nothing");
    }

    /// <summary>A unified diff as JSON <c>{patch}</c>, or the diff itself as the body (text/x-diff, text/plain).</summary>
    /// <summary>The list's <c>limit</c>: refused rather than bent when out of range, so a caller's mistake (0, -1) is not an empty or odd answer.</summary>
    private static int ListLimit(int? limit) => limit switch
    {
        null => DefaultListLimit,
        >= 1 and <= MaxListLimit => limit.Value,
        _ => throw new HutchException(ErrorCodes.InvalidLimit, $"limit must be from 1 to {MaxListLimit}; it was {limit}. Leave it out for {DefaultListLimit} entries."),
    };

    private static async Task<byte[]> ReadPatchAsync(HttpRequest http)
    {
        if (http.ContentType is null || http.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.PatchRequest, new PatchRequest());
            return Encoding.UTF8.GetBytes(request.Patch);
        }
        using var body = new MemoryStream();
        await http.Body.CopyToAsync(body, http.HttpContext.RequestAborted);
        return body.ToArray();
    }

    internal static string Required(string? value, string name) => string.IsNullOrEmpty(value)
        ? throw new HutchException(ErrorCodes.InvalidPath, $"Give '{name}': a path in the workspace, like 'src/a.py' or '/workspace/src/a.py'.")
        : value;

    /// <summary>UTF-8 text when the bytes are valid UTF-8 (or asked for), else base64.</summary>
    private static (string Encoding, string Content) Encode(byte[] bytes, string? encoding)
    {
        switch (encoding)
        {
            case null or "" or "auto":
                try
                {
                    return ("utf8", StrictUtf8.GetString(bytes));
                }
                catch (DecoderFallbackException)
                {
                    return ("base64", Convert.ToBase64String(bytes));
                }
            case "utf8":
                try
                {
                    return ("utf8", StrictUtf8.GetString(bytes));
                }
                catch (DecoderFallbackException)
                {
                    throw new HutchException(ErrorCodes.InvalidEncoding, "The file is not valid UTF-8. Read it with encoding=base64.");
                }
            case "base64":
                return ("base64", Convert.ToBase64String(bytes));
            default:
                throw new HutchException(ErrorCodes.InvalidEncoding, $"Unknown encoding '{encoding}': use auto, utf8 or base64.");
        }
    }

    private static byte[] Decode(string content, string? encoding) => encoding switch
    {
        null or "" or "utf8" => Encoding.UTF8.GetBytes(content),
        "base64" => Base64(content),
        _ => throw new HutchException(ErrorCodes.InvalidEncoding, $"Unknown encoding '{encoding}': use utf8 or base64."),
    };

    private static byte[] Base64(string content)
    {
        try
        {
            return Convert.FromBase64String(content);
        }
        catch (FormatException)
        {
            throw new HutchException(ErrorCodes.InvalidEncoding, "content is not valid base64. Encode the bytes with standard base64 (RFC 4648).");
        }
    }
}
