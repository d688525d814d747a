using Hutch.Client.Sync;

namespace Hutch.Tests.Client.Sync;

[Trait("Category", "Unit")]
public class SyncStateTests
{
    private static SyncEntry F(string path, string content) =>
        new(path, SyncEntryType.File, 0x1A4, content.Length, SyncTestTree.Sha(content), null);

    [Fact]
    public void AConflictWhoseCopyIsGone_IsResolved_AndTheSandboxVersionBecomesTheBaseline()
    {
        var state = new SyncState(SyncState.CurrentVersion, "app", [F("x", "base"), F("y", "base")],
            [new SyncStateConflict("x", SyncConflictKind.BothChanged, "x.sandbox", [F("x", "theirs")]),
             new SyncStateConflict("y", SyncConflictKind.BothChanged, "y.sandbox", [F("y", "theirs")])]);

        var resolved = state.WithResolvedConflicts(copy => copy == "y.sandbox");

        Assert.Equal("y", Assert.Single(resolved.Conflicts).Path);
        Assert.Equal(SyncTestTree.Sha("theirs"), resolved.Entries.Single(e => e.Path == "x").Sha256);
        Assert.Equal(SyncTestTree.Sha("base"), resolved.Entries.Single(e => e.Path == "y").Sha256);
    }

    [Fact]
    public void ResolvingADirectoryCopy_ReplacesTheWholeSubtreeOfTheBaseline()
    {
        var dir = new SyncEntry("d", SyncEntryType.Directory, 0x1ED, 0, null, null);
        var state = new SyncState(SyncState.CurrentVersion, "", [dir, F("d/old", "1")],
            [new SyncStateConflict("d", SyncConflictKind.DeletedLocallyChangedInSandbox, "d.sandbox", [dir, F("d/new", "2")])]);

        var resolved = state.WithResolvedConflicts(_ => false);

        Assert.Equal(["d", "d/new"], resolved.Entries.Select(e => e.Path));
        Assert.Empty(resolved.Conflicts);
    }

    [Fact]
    public void AConflictWithoutACopy_StaysUntilAPushSettlesIt()
    {
        var state = new SyncState(SyncState.CurrentVersion, "", [F("x", "base")],
            [new SyncStateConflict("x", SyncConflictKind.ChangedLocallyDeletedInSandbox, null, [])]);

        Assert.Same(state, state.WithResolvedConflicts(_ => false));
    }
}
