using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hutch.Mcp;

/// <summary>
/// A sandbox's files as MCP resources, <c>hutch://sandboxes/ID/files/PATH</c>: what a tool links to
/// instead of pasting a binary file (an image, an archive) into the conversation; the client reads
/// it with <c>resources/read</c> when it wants the bytes.
/// </summary>
internal static class ResourceLinks
{
    public const string Template = "hutch://sandboxes/{id}/files/{+path}";

    /// <summary>Files served whole as a resource, at most (the API's own read limit is 64 MiB).</summary>
    public const long MaxBytes = 16L << 20;

    public static string File(string sandbox, string path) => $"hutch://sandboxes/{sandbox}/files/{path.TrimStart('/')}";

    public static McpServerResource Files(McpSession session) => McpServerResource.Create(
        async ([Description("The sandbox's id or name")] string id, [Description("The file, relative to /workspace")] string path,
            CancellationToken cancellationToken) =>
        {
            var file = await session.Client.ReadFileAsync(id, path, maxBytes: MaxBytes, encoding: "base64", cancellationToken: cancellationToken).ConfigureAwait(false);
            var uri = File(id, file.Path);
            var bytes = Convert.FromBase64String(file.Content);
            return (ResourceContents)(Tools.ShownOutput.IsText(bytes)
                ? new TextResourceContents { Uri = uri, MimeType = "text/plain", Text = System.Text.Encoding.UTF8.GetString(bytes) }
                : BlobResourceContents.FromBytes(bytes, uri, "application/octet-stream"));
        },
        new McpServerResourceCreateOptions
        {
            UriTemplate = Template,
            Name = "file",
            Title = "A file of a sandbox",
            Description = "A file of a sandbox's workspace, by the sandbox's id and the file's path under /workspace (up to 16 MiB).",
        });
}
