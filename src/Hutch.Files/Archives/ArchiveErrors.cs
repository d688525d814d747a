using Hutch.Protocol.Api;

namespace Hutch.Files.Archives;

/// <summary>
/// The refusals of an archive import, each with a stable code and a message that names the member
/// and says what to do, because the caller (often a model) has to fix the archive and send it again.
/// Every message also says that nothing was written: a refused import leaves the workspace as it was.
/// </summary>
internal static class ArchiveErrors
{
    /// <summary>A member that is never imported (tar-slip, link, device) or does not fit the workspace: 400 archive_refused.</summary>
    public static WorkspaceException Refused(string member, string why, string todo) => new(ErrorCodes.ArchiveRefused, $"The archive member '{Shown(member)}' was refused: {why}. Nothing was imported. {todo}");

    public static WorkspaceException TooManyBytes(long max) => new(ErrorCodes.ArchiveTooLarge, $"The archive holds more than {max} bytes once decompressed, the import limit. Nothing was imported. " +
        "Split it into smaller archives, or import only the directories you need.");

    public static WorkspaceException TooManyEntries(int max) => new(ErrorCodes.ArchiveTooLarge, $"The archive has more than {max} entries, the import limit. Nothing was imported. Split it into smaller archives.");

    public static WorkspaceException Invalid(string why, Exception? inner = null) => new(ErrorCodes.ArchiveInvalid, $"The archive cannot be read: {why}. Nothing was imported. Send a complete tar file, plain or gzip-compressed " +
        "(for example from `tar -czf out.tgz dir`).", inner);

    /// <summary>Names as tar stores them may hold newlines or be very long: keep the message one readable line.</summary>
    public static string Shown(string member) => Errors.Shorten(member.Replace("\n", "\\n").Replace("\r", "\\r").Replace("\0", "\\0"));
}
