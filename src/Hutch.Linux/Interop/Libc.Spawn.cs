using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// posix_spawn(3) and its attribute/file-action helpers (glibc ≥ 2.34 for addclosefrom_np, ≥ 2.29 for
// addchdir_np; Debian 12 has 2.36). The opaque structs are allocated bigger than glibc's sizes
// (posix_spawnattr_t 336 B, posix_spawn_file_actions_t 80 B, sigset_t 128 B).
internal static unsafe partial class Libc
{
    internal const int PosixSpawnSetSigDef = 0x04;
    internal const int PosixSpawnSetSigMask = 0x08;
    internal const int PosixSpawnSetSid = 0x80;

    internal const int SpawnAttrSize = 512;
    internal const int FileActionsSize = 256;
    internal const int SigSetSize = 128;

    [LibraryImport(Name, EntryPoint = "posix_spawn")]
    internal static partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_init")]
    internal static partial int FileActionsInit(void* actions);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static partial int FileActionsDestroy(void* actions);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static partial int FileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addopen")]
    internal static partial int FileActionsAddOpen(void* actions, int fd, byte* path, int flags, int mode);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    internal static partial int FileActionsAddChdir(void* actions, byte* path);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    internal static partial int FileActionsAddCloseFrom(void* actions, int from);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_init")]
    internal static partial int SpawnAttrInit(void* attr);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_destroy")]
    internal static partial int SpawnAttrDestroy(void* attr);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setflags")]
    internal static partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setsigmask")]
    internal static partial int SpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setsigdefault")]
    internal static partial int SpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Name, EntryPoint = "sigemptyset")]
    internal static partial int SigEmptySet(void* set);

    [LibraryImport(Name, EntryPoint = "sigfillset")]
    internal static partial int SigFillSet(void* set);
}
