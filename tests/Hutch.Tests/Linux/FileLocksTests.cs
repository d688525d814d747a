using Hutch.Linux;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Linux;

/// <summary>
/// The data dir's lock across a fork: a child forked while the lock's descriptor is open holds a
/// copy of it until its exec closes it, and the lock lives while any copy does. Closing alone
/// leaves the lock held by that copy (a daemon stopped and started again in one process then sees
/// itself as "another daemon"); unlocking first releases it for every copy.
/// </summary>
public sealed class FileLocksTests
{
    [Fact]
    public void Unlock_ReleasesTheLock_EvenWhileACopyOfTheDescriptorIsOpen()
    {
        var dir = TestPaths.NewTempDir("hutch-lock");
        var path = Path.Join(dir, "daemon.lock");
        try
        {
            var closedOnly = LockedAgainAfter(path, unlockFirst: false);
            var unlocked = LockedAgainAfter(path, unlockFirst: true);

            Assert.False(closedOnly); // the race the data dir lock met
            Assert.True(unlocked);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Locks, keeps a copy of the descriptor (as a forking child would), lets go, and tries again from a new open.</summary>
    private static bool LockedAgainAfter(string path, bool unlockFirst)
    {
        var first = FileLocks.Open(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.True(FileLocks.TryLockExclusive(first));
        using var childsCopy = Fds.Duplicate(first);
        if (unlockFirst)
        {
            FileLocks.Unlock(first);
        }
        first.Dispose();
        using var second = FileLocks.Open(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return FileLocks.TryLockExclusive(second);
    }
}
