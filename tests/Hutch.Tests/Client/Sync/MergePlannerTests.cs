using Hutch.Client.Sync;
using static Hutch.Client.Sync.MergeDecision;
using static Hutch.Client.Sync.SyncConflictKind;

namespace Hutch.Tests.Client.Sync;

/// <summary>
/// The merge table, one row per case. B, L, R are the baseline, local and sandbox states of the path
/// "x" (or of a small tree); each row checks the decision, what is written or deleted locally, and the
/// next baseline.
/// </summary>
[Trait("Category", "Unit")]
public class MergePlannerTests
{
    private static SyncEntry F(string content, string mode = "644", string path = "x") =>
        new(path, SyncEntryType.File, Convert.ToInt32(mode, 8), content.Length, SyncTestTree.Sha(content), null);

    private static SyncEntry D(string path = "x", string mode = "755") =>
        new(path, SyncEntryType.Directory, Convert.ToInt32(mode, 8), 0, null, null);

    private static SyncEntry Link(string target, string path = "x") =>
        new(path, SyncEntryType.Symlink, 0x1FF, 0, null, target);

    private static SyncEntry[] Of(params SyncEntry?[] entries) => entries.OfType<SyncEntry>().ToArray();

    private static MergePlan Plan(SyncEntry? b, SyncEntry? l, SyncEntry? r) => MergePlanner.Plan(Of(b), Of(l), Of(r));

    private static MergeItem Item(MergePlan plan, string path = "x") => Assert.Single(plan.Items, i => i.Path == path);

    public static TheoryData<string, SyncEntry?, SyncEntry?, SyncEntry?, string, SyncEntry?> Rows() => new()
    {
        // name, B, L, R, decision, next baseline of x
        { "unchanged", F("1"), F("1"), F("1"), nameof(Unchanged), F("1") },
        { "changed in sandbox", F("1"), F("1"), F("2"), nameof(TakeSandbox), F("2") },
        // The baseline stays at the sandbox's version: recording the local one would make the next pull take the sandbox's back.
        { "changed locally", F("1"), F("2"), F("1"), nameof(KeepLocal), F("1") },
        { "changed on both sides alike", F("1"), F("2"), F("2"), nameof(BothSame), F("2") },
        { "changed on both sides differently", F("1"), F("2"), F("3"), nameof(Conflict), F("1") },
        { "added in sandbox", null, null, F("1"), nameof(TakeSandbox), F("1") },
        { "added locally", null, F("1"), null, nameof(KeepLocal), null },
        { "added on both sides alike", null, F("1"), F("1"), nameof(BothSame), F("1") },
        { "added on both sides differently", null, F("1"), F("2"), nameof(Conflict), null },
        { "deleted in sandbox", F("1"), F("1"), null, nameof(TakeSandbox), null },
        { "deleted locally", F("1"), null, F("1"), nameof(KeepLocal), F("1") },
        { "deleted on both sides", F("1"), null, null, nameof(BothSame), null },
        { "deleted locally, changed in sandbox", F("1"), null, F("2"), nameof(Conflict), F("1") },
        { "changed locally, deleted in sandbox", F("1"), F("2"), null, nameof(Conflict), F("1") },
        { "mode changed in sandbox", F("1"), F("1"), F("1", "755"), nameof(TakeSandbox), F("1", "755") },
        { "mode changed locally", F("1"), F("1", "755"), F("1"), nameof(KeepLocal), F("1") },
        { "mode changed on both sides differently", F("1"), F("1", "600"), F("1", "755"), nameof(Conflict), F("1") },
        { "setuid bits are not a change", F("1"), F("1"), F("1", "4644"), nameof(Unchanged), F("1", "4644") },
        { "file became symlink in sandbox", F("1"), F("1"), Link("t"), nameof(TakeSandbox), Link("t") },
        { "file became directory locally, changed in sandbox", F("1"), D(), F("2"), nameof(Conflict), F("1") },
        { "symlink retargeted in sandbox", Link("a"), Link("a"), Link("b"), nameof(TakeSandbox), Link("b") },
        { "symlink retargeted on both sides", Link("a"), Link("b"), Link("c"), nameof(Conflict), Link("a") },
        { "directory mode changed in sandbox", D(), D(), D(mode: "700"), nameof(TakeSandbox), D(mode: "700") },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void EveryRowOfTheTable(string name, SyncEntry? b, SyncEntry? l, SyncEntry? r, string expected, SyncEntry? baseline)
    {
        var plan = Plan(b, l, r);
        var decision = Enum.Parse<MergeDecision>(expected);

        Assert.True(decision == Item(plan).Decision, $"{name}: expected {decision}, got {Item(plan).Decision}");
        var next = plan.Baseline.SingleOrDefault(e => e.Path == "x");
        Assert.True(SyncEntry.SameState(baseline, next), $"{name}: next baseline {next}");
    }

    [Fact]
    public void TakingAChange_ReplacesTheLocalEntryItSaw()
    {
        var plan = Plan(F("1"), F("1"), F("2"));

        var write = Assert.Single(plan.Writes);
        Assert.Equal(new LocalWrite("x", F("2"), F("1")), write);
        Assert.Empty(plan.Deletes);
        Assert.Empty(plan.Conflicts);
    }

    [Fact]
    public void TakingADeletion_DeletesTheLocalEntryItSaw()
    {
        var plan = Plan(F("1"), F("1"), null);

        Assert.Equal([F("1")], plan.Deletes);
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void KeepingALocalChange_TouchesNothing()
    {
        var plan = Plan(F("1"), F("2"), F("1"));

        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Deletes);
    }

    [Fact]
    public void AConflict_LeavesLocalAlone_AndCopiesTheSandboxVersionBeside()
    {
        var plan = Plan(F("1"), F("2"), F("3"));

        Assert.Equal([new SyncConflict("x", BothChanged, "x.sandbox")], plan.Conflicts);
        Assert.Equal([new LocalWrite("x.sandbox", F("3"), null)], plan.Writes);
        Assert.Empty(plan.Deletes);
        var record = Assert.Single(plan.ConflictRecords);
        Assert.Equal([F("3")], record.Sandbox);
    }

    [Fact]
    public void DeletedLocally_ChangedInSandbox_RestoresTheSandboxVersionOnlyAsTheCopy()
    {
        var plan = Plan(F("1"), null, F("2"));

        Assert.Equal([new SyncConflict("x", DeletedLocallyChangedInSandbox, "x.sandbox")], plan.Conflicts);
        Assert.Equal([new LocalWrite("x.sandbox", F("2"), null)], plan.Writes);
    }

    [Fact]
    public void ChangedLocally_DeletedInSandbox_KeepsLocal_WithNoCopy()
    {
        var plan = Plan(F("1"), F("2"), null);

        Assert.Equal([new SyncConflict("x", ChangedLocallyDeletedInSandbox, null)], plan.Conflicts);
        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Deletes);
    }

    [Fact]
    public void AModeOnlyChange_IsAWriteThatReplacesTheSameContent()
    {
        var plan = Plan(F("1"), F("1"), F("1", "755"));

        var write = Assert.Single(plan.Writes);
        Assert.True(SyncEntry.SameContent(write.Replaces!, write.Sandbox));
    }

    [Fact]
    public void ATypeChange_DeletesTheOldEntry_ThenWritesTheNewOneOnAFreeName()
    {
        var plan = Plan(F("1"), F("1"), Link("t"));

        Assert.Equal([F("1")], plan.Deletes);
        Assert.Equal([new LocalWrite("x", Link("t"), null)], plan.Writes);
    }

    [Fact]
    public void BothChangingADirectorysMode_IsAConflictWithNoCopy()
    {
        var plan = Plan(D(), D(mode: "700"), D(mode: "750"));

        Assert.Equal([new SyncConflict("x", BothChanged, null)], plan.Conflicts);
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void ASandboxDeletedDirectory_IsDeletedLocally_ChildrenFirst()
    {
        var tree = Of(D("d"), F("1", path: "d/a"), D("d/e"), F("2", path: "d/e/b"));

        var plan = MergePlanner.Plan(tree, tree, []);

        Assert.Equal(["d/e/b", "d/e", "d/a", "d"], plan.Deletes.Select(e => e.Path));
        Assert.Empty(plan.Conflicts);
    }

    [Fact]
    public void ASandboxDeletedDirectory_HoldingALocalAddition_IsKept_AsAConflict()
    {
        var before = Of(D("d"), F("1", path: "d/a"));

        var plan = MergePlanner.Plan(before, [.. before, F("new", path: "d/new")], []);

        Assert.Equal(Conflict, Item(plan, "d").Decision);
        Assert.Equal([new SyncConflict("d", ChangedLocallyDeletedInSandbox, null)], plan.Conflicts);
        Assert.Equal(TakeSandbox, Item(plan, "d/a").Decision);
        Assert.Equal(KeepLocal, Item(plan, "d/new").Decision);
        Assert.Equal(["d/a"], plan.Deletes.Select(e => e.Path));
    }

    [Fact]
    public void ASandboxDeletedDirectory_HoldingAnExcludedLocalFile_IsKept()
    {
        var plan = MergePlanner.Plan(Of(D("d")), Of(D("d")), [], localExcluded: ["d/debug.log"]);

        Assert.Equal(Conflict, Item(plan, "d").Decision);
        Assert.Empty(plan.Deletes);
    }

    [Fact]
    public void ASandboxFileReplacingALocalDirectoryWithAdditions_IsCopiedBeside()
    {
        var before = Of(D("d"));

        var plan = MergePlanner.Plan(before, [.. before, F("mine", path: "d/mine")], Of(F("theirs", path: "d")));

        Assert.Equal([new SyncConflict("d", BothChanged, "d.sandbox")], plan.Conflicts);
        Assert.Equal([new LocalWrite("d.sandbox", F("theirs", path: "d"), null)], plan.Writes);
        Assert.Empty(plan.Deletes);
    }

    [Fact]
    public void SandboxAdditionsUnderAPathThatIsLocallyAFile_MakeItAConflict_AndGoIntoACopiedDirectory()
    {
        var plan = MergePlanner.Plan(Of(D("d")), Of(F("now a file", path: "d")), Of(D("d"), F("new", path: "d/new"), D("d/sub"), F("deep", path: "d/sub/deep")));

        Assert.Equal([new SyncConflict("d", BothChanged, "d.sandbox")], plan.Conflicts);
        Assert.Equal(UnderConflict, Item(plan, "d/new").Decision);
        Assert.Equal(
            [("d.sandbox", "d"), ("d.sandbox/new", "d/new"), ("d.sandbox/sub", "d/sub"), ("d.sandbox/sub/deep", "d/sub/deep")],
            plan.Writes.Select(w => (w.Destination, w.Sandbox.Path)));
        Assert.Empty(plan.Deletes);
        // The conflicted subtree keeps its old baseline.
        Assert.Equal(["d"], plan.Baseline.Select(e => e.Path));
        Assert.Equal(4, Assert.Single(plan.ConflictRecords).Sandbox.Count);
    }

    [Fact]
    public void AFileChangedInSandbox_UnderADirectoryDeletedLocally_RestoresTheDirectoryOnlyAsACopy()
    {
        var before = Of(D("d"), F("1", path: "d/f"), F("2", path: "d/g"));

        var plan = MergePlanner.Plan(before, [], Of(D("d"), F("changed", path: "d/f"), F("2", path: "d/g")));

        Assert.Equal([new SyncConflict("d", DeletedLocallyChangedInSandbox, "d.sandbox")], plan.Conflicts);
        Assert.Equal(["d.sandbox", "d.sandbox/f", "d.sandbox/g"], plan.Writes.Select(w => w.Destination));
        Assert.DoesNotContain(plan.Writes, w => w.Destination == "d" || w.Destination.StartsWith("d/", StringComparison.Ordinal));
    }

    [Fact]
    public void ADirectoryDeletedLocally_AndUnchangedInSandbox_StaysDeleted()
    {
        var before = Of(D("d"), F("1", path: "d/f"));

        var plan = MergePlanner.Plan(before, [], before);

        Assert.All(plan.Items, i => Assert.Equal(KeepLocal, i.Decision));
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void ASandboxDirectoryReplacingAnUnchangedLocalFile_IsTaken()
    {
        var plan = MergePlanner.Plan(Of(F("1", path: "d")), Of(F("1", path: "d")), Of(D("d"), F("a", path: "d/a")));

        Assert.Equal([F("1", path: "d")], plan.Deletes);
        Assert.Equal(["d", "d/a"], plan.Writes.Select(w => w.Destination));
        Assert.Empty(plan.Conflicts);
    }

    [Fact]
    public void ALocalSymlinkWhereTheSandboxHasADirectory_IsNeverWrittenThrough()
    {
        var plan = MergePlanner.Plan([], Of(Link("/etc", "d")), Of(D("d"), F("x", path: "d/passwd")));

        Assert.Equal([new SyncConflict("d", BothChanged, "d.sandbox")], plan.Conflicts);
        Assert.DoesNotContain(plan.Writes, w => w.Destination.StartsWith("d/", StringComparison.Ordinal));
    }

    [Fact]
    public void ACopyName_InUseLocally_MovesOnToTheNextNumber()
    {
        var plan = MergePlanner.Plan(Of(F("1")), Of(F("2"), F("unrelated", path: "x.sandbox")), Of(F("3")));

        Assert.Equal("x.sandbox.1", Assert.Single(plan.Conflicts).SandboxCopy);
        Assert.Equal(["x.sandbox.1"], plan.Writes.Select(w => w.Destination));
    }

    [Fact]
    public void ACopyName_InUseInTheSandbox_OrByAnExcludedLocalFile_IsSkipped()
    {
        Assert.Equal("x.sandbox.1", MergePlanner.Plan(Of(F("1")), Of(F("2")), Of(F("3"), F("s", path: "x.sandbox"))).Conflicts.Single(c => c.Path == "x").SandboxCopy);
        Assert.Equal("x.sandbox.1", MergePlanner.Plan(Of(F("1")), Of(F("2")), Of(F("3")), localExcluded: ["x.sandbox"]).Conflicts.Single().SandboxCopy);
    }

    [Fact]
    public void AnEarlierCopyOfTheSameSandboxVersion_IsReused_NotWrittenAgain()
    {
        var plan = MergePlanner.Plan(Of(F("1")), Of(F("2"), F("3", path: "x.sandbox")), Of(F("3")));

        Assert.Equal([new SyncConflict("x", BothChanged, "x.sandbox")], plan.Conflicts);
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void TheSameSandboxPathListedTwice_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => MergePlanner.Plan([], [], Of(F("1"), F("2"))));
    }

    [Fact]
    public void WritesComeParentsFirst_AndItemsInTreeOrder()
    {
        var sandbox = Of(D("a"), F("1", path: "a-b"), D("a/c"), F("2", path: "a/c/d"), F("3", path: "a/e"));

        var plan = MergePlanner.Plan([], [], sandbox);

        Assert.Equal(["a", "a/c", "a/c/d", "a/e", "a-b"], plan.Writes.Select(w => w.Destination));
        Assert.Equal(["a", "a/c", "a/c/d", "a/e", "a-b"], plan.Items.Select(i => i.Path));
    }
}
