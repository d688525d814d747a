using System.Globalization;
using System.Text;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon;

/// <summary>
/// One daemon per data dir: an exclusive flock on <c>daemon.lock</c> in it, held for the daemon's
/// life and taken before anything else touches the dir. A second daemon would otherwise adopt the
/// first one's sandboxes, expire them by its own clock and fight it over their agents' sockets. The
/// kernel drops the lock when the holder dies, so a crash leaves nothing to clean. An in-process
/// `hutch run` takes no lock: it shares the dir with a daemon and touches only its own sandboxes.
/// </summary>
public sealed class DataDirLock : IDisposable
{
    private readonly SafeFileHandle _file;

    private DataDirLock(SafeFileHandle file) => _file = file;

    public static string PathIn(string dataDir) => Path.Join(dataDir, "daemon.lock");

    /// <summary>Takes the lock, or throws data_dir_in_use naming the daemon that holds it.</summary>
    public static DataDirLock Acquire(HutchOptions options)
    {
        Directory.CreateDirectory(options.DataDir);
        var file = FileLocks.Open(PathIn(options.DataDir), PrivateFiles.FileMode);
        try
        {
            if (!FileLocks.TryLockExclusive(file))
            {
                throw new HutchException(ErrorCodes.DataDirInUse,
                    $"Another hutch daemon{Holder(file)} is serving the data dir {options.DataDir}. Use that daemon, stop it first, or give this one its own --data-dir.");
            }
            // Who holds it, for the message a second daemon prints; fixed width, so no older, longer pid shows through.
            RandomAccess.Write(file, Encoding.ASCII.GetBytes(Environment.ProcessId.ToString("D10", CultureInfo.InvariantCulture) + "\n"), 0);
            return new DataDirLock(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static string Holder(SafeFileHandle file)
    {
        var bytes = new byte[32];
        var read = RandomAccess.Read(file, bytes, 0);
        return int.TryParse(Encoding.ASCII.GetString(bytes, 0, read).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? $" (pid {pid})" : "";
    }

    public void Dispose()
    {
        if (!_file.IsClosed)
        {
            FileLocks.Unlock(_file); // before the close: a child forked meanwhile must not keep it held
        }
        _file.Dispose();
    }
}
