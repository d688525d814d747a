using System.CommandLine;
using System.IO.Pipelines;
using Hutch.Cli.Files;
using Hutch.Client;
using Hutch.Client.Local;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch cp SRC DST`, docker cp style: one side is <c>ID:PATH</c> in a sandbox's /workspace, the other a
/// local path. A file is streamed (upload / download); a local directory goes in as a tar made on the fly
/// (import, without touching the diff baseline), and a sandbox directory comes out as an export unpacked
/// by <see cref="TarExtractor"/>, which never writes outside the destination or through a symlink.
/// </summary>
internal static class CopyCommand
{
    private const string Example = "hutch cp ./src ID:src, or hutch cp ID:out ./out";

    public static Command Create(CliConsole console)
    {
        var source = new Argument<string>("src") { Description = "What to copy: a local path, or ID:PATH in a sandbox (PATH/. for a directory's contents)" };
        var destination = new Argument<string>("dst") { Description = "Where to: ID:PATH in a sandbox, or a local path" };
        var command = new Command("cp", $"Copy a file or directory between this machine and a sandbox: {Example}") { source, destination };
        command.Validators.Add(result =>
        {
            if (result.GetValue(source) is not { } src || result.GetValue(destination) is not { } dst)
            {
                return;
            }
            if (src == "-" || dst == "-")
            {
                result.AddError("cp copies paths, not stdin or stdout: use `hutch fs write` / `hutch fs cat` for one file's bytes, or `hutch import` / `hutch export` for a tar.");
                return;
            }
            var (from, to) = (CopyEndpoint.Parse(src), CopyEndpoint.Parse(dst));
            if (from.IsRemote == to.IsRemote)
            {
                result.AddError(from.IsRemote
                    ? "Both sides are in a sandbox: copy between sandboxes through a local directory."
                    : $"Neither side is in a sandbox: write one as ID:PATH, as in `{Example}` (a local path with a colon is written ./a:b).");
            }
        });

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            var from = CopyEndpoint.Parse(parse.GetRequiredValue(source));
            var to = CopyEndpoint.Parse(parse.GetRequiredValue(destination));
            using var client = Connection.Connect(parse);
            if (to.IsRemote)
            {
                await CopyInAsync(client, from, to, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await CopyOutAsync(client, from, to, console, cancellationToken).ConfigureAwait(false);
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Local → sandbox. A top-level symlink is followed (the user named it); links inside a directory are copied as links.</summary>
    private static async Task CopyInAsync(HutchClient client, CopyEndpoint from, CopyEndpoint to, CancellationToken cancellationToken)
    {
        var sandbox = to.Sandbox!;
        var local = Path.GetFullPath(from.Path);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(local));
        if (Directory.Exists(local))
        {
            var existing = await TryStatAsync(client, sandbox, to.Path, cancellationToken).ConfigureAwait(false);
            string target;
            if (existing is null)
            {
                target = to.Path;   // created by the import, with the directory's contents
            }
            else if (existing.Type == FileTypes.Directory)
            {
                target = from.MeansContents || name.Length == 0 ? existing.Path : CopyEndpoint.RemoteJoin(existing.Path, name);
            }
            else
            {
                throw new CliException(ErrorCodes.NotADirectory,
                    $"{to} is a {existing.Type}, so the directory {from.Path} cannot be copied to it: give a directory, or a path that does not exist yet");
            }
            await ImportDirectoryAsync(client, sandbox, target, local, cancellationToken).ConfigureAwait(false);
        }
        else if (File.Exists(local))
        {
            var target = to.Path;
            if (to.Path.Length == 0 || to.Path.EndsWith('/')
                || (await TryStatAsync(client, sandbox, to.Path, cancellationToken).ConfigureAwait(false))?.Type == FileTypes.Directory)
            {
                target = CopyEndpoint.RemoteJoin(to.Path, name);
            }
            await using var file = LocalFs.OpenRead(local);
            await client.UploadAsync(sandbox, target, file, LocalFiles.FormatMode(File.GetUnixFileMode(local)),
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new CliException(ErrorCodes.PathNotFound, $"{from.Path} does not exist here");
        }
    }

    /// <summary>
    /// Sends a local directory as a tar written while it is uploaded: nothing is staged on disk or held
    /// whole in memory. Imported without setBaseline, so `hutch diff` still shows the copy as changes.
    /// </summary>
    private static async Task ImportDirectoryAsync(HutchClient client, string sandbox, string target, string directory, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                await TarMaker.WriteAsync(directory, pipe.Writer.AsStream(leaveOpen: true), stop.Token).ConfigureAwait(false);
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var failure = LocalFiles.Failure(e);
                await pipe.Writer.CompleteAsync(failure).ConfigureAwait(false);
                throw failure;
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }, CancellationToken.None);

        try
        {
            await client.ImportAsync(sandbox, target, pipe.Reader.AsStream(), setBaseline: false, cancellationToken).ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (CliException)
            {
                throw;   // the tar could not be made: that, not the upload it cut short, is the failure to report
            }
            catch (OperationCanceledException)
            {
                // Stopped because the import failed or hutch was interrupted: the import's failure is the one to report.
            }
            throw;
        }
    }

    /// <summary>Sandbox → local: a file is downloaded, a symlink made as stored, a directory exported and unpacked.</summary>
    private static async Task CopyOutAsync(HutchClient client, CopyEndpoint from, CopyEndpoint to, CliConsole console, CancellationToken cancellationToken)
    {
        var sandbox = from.Sandbox!;
        var entry = await client.StatAsync(sandbox, from.Path, cancellationToken).ConfigureAwait(false);
        var local = to.Path;
        switch (entry.Type)
        {
            case FileTypes.Directory:
            {
                var target = local;
                var kind = LocalFs.Lstat(local);
                if (Directory.Exists(local))
                {
                    target = from.MeansContents ? local : Path.Join(local, CopyEndpoint.RemoteName(entry.Path));
                }
                else if (kind != LocalKind.None)
                {
                    throw new CliException(ErrorCodes.NotADirectory,
                        $"{local} is a {LocalFs.Describe(kind)}, so the directory {from} cannot be copied to it: give a directory, or a path that does not exist yet");
                }
                Directory.CreateDirectory(target);
                await using var archive = new RemoteStream(await client.ExportAsync(sandbox, entry.Path, cancellationToken: cancellationToken).ConfigureAwait(false));
                await TarExtractor.ExtractAsync(archive, target, note => console.Error.WriteLine("hutch: " + note), cancellationToken).ConfigureAwait(false);
                return;
            }
            case FileTypes.File:
            {
                var target = FileTarget(local, entry);
                await using (var download = new RemoteStream(await client.DownloadAsync(sandbox, entry.Path, cancellationToken).ConfigureAwait(false)))
                {
                    await LocalFiles.WriteAsync(target, download, LocalFiles.ParseMode(entry.Mode), cancellationToken).ConfigureAwait(false);
                }
                if (LocalFs.Lstat(target) == LocalKind.File)
                {
                    File.SetLastWriteTimeUtc(target, entry.Mtime.UtcDateTime);
                }
                return;
            }
            case FileTypes.Symlink:
            {
                var target = FileTarget(local, entry);
                if (LocalFs.Lstat(target) is LocalKind.File or LocalKind.Symlink)
                {
                    File.Delete(target);
                }
                File.CreateSymbolicLink(target, entry.Target!);
                return;
            }
            default:
                throw new CliException(ErrorCodes.NotAFile, $"{from} is a FIFO, socket or device, which is never copied");
        }
    }

    /// <summary>Where a file or link lands: inside <paramref name="local"/> when that is a directory, else at it.</summary>
    private static string FileTarget(string local, FileEntry entry)
    {
        if (Directory.Exists(local))
        {
            var inside = Path.Join(local, CopyEndpoint.RemoteName(entry.Path));
            return LocalFs.Lstat(inside) == LocalKind.Directory
                ? throw new CliException(ErrorCodes.IsADirectory, $"{inside} is a directory: move it away or copy somewhere else")
                : inside;
        }
        if (local.EndsWith('/'))
        {
            throw new CliException(ErrorCodes.PathNotFound, $"the directory {local} does not exist: create it first");
        }
        return local;
    }

    private static async Task<FileEntry?> TryStatAsync(HutchClient client, string sandbox, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await client.StatAsync(sandbox, path, cancellationToken).ConfigureAwait(false);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.PathNotFound)
        {
            return null;
        }
    }
}
