using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Workspace files: /v1/sandboxes/{idOrName}/files[...]. Paths are relative to /workspace; 'src/a.py',
// '/src/a.py' and '/workspace/src/a.py' name the same file.
public sealed partial class HutchClient
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    /// <summary>Reads a file (or a range of it) through JSON: UTF-8 text when it is valid UTF-8, else base64.</summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="path">The file, relative to /workspace.</param>
    /// <param name="offset">First byte to return (default 0).</param>
    /// <param name="length">How many bytes to return (default: to the end).</param>
    /// <param name="maxBytes">Refuse (<c>file_too_large</c>) rather than return more than this; the daemon caps it at 64 MiB.</param>
    /// <param name="encoding">"auto" (default), "utf8" or "base64".</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<FileContent> ReadFileAsync(string idOrName, string path, long? offset = null, long? length = null, long? maxBytes = null,
        string? encoding = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, FilesPath(idOrName, "", ("path", path), ("offset", Num(offset)), ("length", Num(length)),
            ("maxBytes", Num(maxBytes)), ("encoding", encoding))), Json.FileContent, cancellationToken);

    /// <summary>Reads a whole file's bytes (up to 64 MiB; use <see cref="DownloadAsync"/> beyond that).</summary>
    public async Task<byte[]> ReadBytesAsync(string idOrName, string path, CancellationToken cancellationToken = default)
    {
        var file = await ReadFileAsync(idOrName, path, maxBytes: 64 << 20, encoding: "base64", cancellationToken: cancellationToken).ConfigureAwait(false);
        return Convert.FromBase64String(file.Content);
    }

    /// <summary>Reads a whole UTF-8 text file.</summary>
    public async Task<string> ReadTextAsync(string idOrName, string path, CancellationToken cancellationToken = default) =>
        (await ReadFileAsync(idOrName, path, encoding: "utf8", cancellationToken: cancellationToken).ConfigureAwait(false)).Content;

    /// <summary>Writes a whole file atomically from text (UTF-8) or, with encoding "base64", bytes.</summary>
    public Task<FileWritten> WriteFileAsync(string idOrName, WriteFileRequest request, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Put, FilesPath(idOrName, ""), request, Json.WriteFileRequest), Json.FileWritten, cancellationToken);

    /// <summary>Writes text as a whole file, atomically. A null mode keeps a replaced file's, else 0644.</summary>
    public Task<FileWritten> WriteTextAsync(string idOrName, string path, string text, string? mode = null, CancellationToken cancellationToken = default) =>
        WriteFileAsync(idOrName, new WriteFileRequest(path, text, "utf8", mode), cancellationToken);

    /// <summary>Writes bytes as a whole file, atomically (base64 in JSON; use <see cref="UploadAsync"/> for large files).</summary>
    public Task<FileWritten> WriteBytesAsync(string idOrName, string path, ReadOnlyMemory<byte> bytes, string? mode = null, CancellationToken cancellationToken = default) =>
        WriteFileAsync(idOrName, new WriteFileRequest(path, Convert.ToBase64String(bytes.Span), "base64", mode), cancellationToken);

    /// <summary>
    /// Streams <paramref name="content"/> into a file: nothing is buffered whole on either side, and the
    /// file appears only when all of it has arrived (temp file + rename). With <paramref name="hash"/>,
    /// the daemon hashes what it wrote (<see cref="FileWritten.Sha256"/>), at ~0.6 s per GiB.
    /// </summary>
    public async Task<FileWritten> UploadAsync(string idOrName, string path, Stream content, string? mode = null, bool createParents = true,
        bool overwrite = true, bool hash = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var request = NewRequest(HttpMethod.Put, FilesPath(idOrName, "/content", ("path", path), ("mode", mode),
            ("createParents", Bool(createParents)), ("overwrite", Bool(overwrite)), ("hash", hash ? "true" : null)));
        request.Content = new StreamContent(content, 1 << 20);
        request.Content.Headers.ContentType = OctetStream;
        AnswerWhileSending(request);
        if (content.CanSeek)
        {
            request.Content.Headers.ContentLength = content.Length - content.Position;
        }
        return await SendForJsonAsync(request, Json.FileWritten, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads a local file (streamed, with its length announced, the file read unbuffered straight
    /// into the request) into the sandbox at <paramref name="path"/>, atomically.
    /// </summary>
    public async Task<FileWritten> UploadFileAsync(string idOrName, string localPath, string path, string? mode = null, bool hash = false,
        CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        return await UploadAsync(idOrName, path, file, mode, hash: hash, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a file as a stream from the daemon; dispose it to close the connection.</summary>
    public Task<Stream> DownloadAsync(string idOrName, string path, CancellationToken cancellationToken = default) =>
        SendForStreamAsync(NewRequest(HttpMethod.Get, FilesPath(idOrName, "/content", ("path", path))), cancellationToken);

    /// <summary>
    /// Downloads a file of the sandbox into a local file, atomically: the bytes go to a temp file beside
    /// <paramref name="localPath"/> in 1 MiB writes straight from the response (no second buffer),
    /// which is renamed over it only when all of them arrived. Returns the bytes written.
    /// </summary>
    public async Task<long> DownloadToFileAsync(string idOrName, string path, string localPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var full = Path.GetFullPath(localPath);
        var temp = Path.Join(Path.GetDirectoryName(full), $".{Path.GetFileName(full)}.hutch-{Guid.NewGuid():N}.tmp");
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long written = 0;
            await using (var source = await DownloadAsync(idOrName, path, cancellationToken).ConfigureAwait(false))
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write))
            {
                int n;
                while ((n = await ReadOrFailAsync(source, buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    RandomAccess.Write(file, buffer.AsSpan(0, n), written);
                    written += n;
                }
            }
            File.Move(temp, full, overwrite: true);
            return written;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            File.Delete(temp);
        }
    }

    /// <summary>A read of a download; a connection lost midway (a short body) is stream_interrupted.</summary>
    private async Task<int> ReadOrFailAsync(Stream source, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw ConnectionFailure(e);
        }
    }

    /// <summary>
    /// Lists a directory; <paramref name="recursive"/> walks it whole (never through symlinks);
    /// <paramref name="hidden"/> includes dot files; <paramref name="hash"/> adds each file's sha256.
    /// </summary>
    public Task<FileList> ListFilesAsync(string idOrName, string path = "", bool recursive = false, bool hidden = true, int? limit = null,
        bool hash = false, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, FilesPath(idOrName, "/list", ("path", path), ("recursive", Bool(recursive)),
            ("hidden", Bool(hidden)), ("limit", Num(limit)), ("hash", hash ? "true" : null))), Json.FileList, cancellationToken);

    /// <summary>Describes one entry; a symlink is described, not followed.</summary>
    public Task<FileEntry> StatAsync(string idOrName, string path, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, FilesPath(idOrName, "/stat", ("path", path))), Json.FileEntry, cancellationToken);

    /// <summary>Creates a directory; with <paramref name="parents"/>, missing parents too (and an existing one is fine).</summary>
    public Task<FileEntry> MakeDirectoryAsync(string idOrName, string path, bool parents = true, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, FilesPath(idOrName, "/mkdir"), new MakeDirectoryRequest(path, parents), Json.MakeDirectoryRequest),
            Json.FileEntry, cancellationToken);

    /// <summary>Deletes a file or symlink, or a directory with <paramref name="recursive"/>.</summary>
    public async Task DeleteFileAsync(string idOrName, string path, bool recursive = false, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, FilesPath(idOrName, "", ("path", path), ("recursive", Bool(recursive))));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves or renames a file or directory atomically.</summary>
    public Task<FileEntry> MoveAsync(string idOrName, string from, string to, bool overwrite = false, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, FilesPath(idOrName, "/move"), new MoveRequest(from, to, overwrite), Json.MoveRequest),
            Json.FileEntry, cancellationToken);

    private async Task<Stream> SendForStreamAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            response.Dispose();
            throw ConnectionFailure(e);
        }
    }

    private static string FilesPath(string idOrName, string suffix, params (string Name, string? Value)[] query) =>
        SandboxPath(idOrName, "/files" + suffix) + Query(query);

    /// <summary>A query string of the parameters that have a value; repeated names are fine (lists).</summary>
    internal static string Query(params (string Name, string? Value)[] parameters)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }
            builder.Append(builder.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
        return builder.ToString();
    }

    private static string? Num(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string Bool(bool value) => value ? "true" : "false";
}
