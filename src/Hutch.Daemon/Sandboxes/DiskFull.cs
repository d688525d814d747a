using Hutch.Protocol.Api;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// Tells a full disk from other failures wherever it surfaces while a sandbox is made (a file the
/// daemon writes, the runtime's own error text, SQLite), so a create answers 507 disk_full.
/// </summary>
internal static class DiskFull
{
    private const int SQLITE_FULL = 13;

    public static bool Caused(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            var full = e switch
            {
                SqliteException s => s.SqliteErrorCode == SQLITE_FULL,
                // .NET puts errno in HResult's low bits on Unix; LinuxException sets it to errno.
                IOException io => (io.HResult & 0xffff) is Hutch.Linux.Interop.Errno.ENOSPC or Hutch.Linux.Interop.Errno.EDQUOT,
                // runc reports the kernel's words only.
                _ => e.Message.Contains("no space left on device", StringComparison.OrdinalIgnoreCase)
                    || e.Message.Contains("disk quota exceeded", StringComparison.OrdinalIgnoreCase),
            };
            if (full)
            {
                return true;
            }
        }
        return false;
    }

    public static HutchException OnCreate(string dataDir, Exception inner) => new(ErrorCodes.DiskFull, $"The sandbox could not be created: the disk of Hutch's data dir ({dataDir}) or its workspace volume is full. " +
        "Delete sandboxes, checkpoints or other files on the host, then try again.", inner);
}
