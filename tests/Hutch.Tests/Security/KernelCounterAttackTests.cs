using System.Diagnostics;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Invariant 5 across sandboxes: kernel counters that Linux charges to a user namespace's owner (root,
/// for every sandbox) are shared by all sandboxes and the host unless each sandbox has its own share.
/// One sandbox takes all it can of one counter and holds it; another sandbox, and root on the host,
/// must still get theirs.
/// </summary>
[Collection(DaemonCollection.Name)]
public class KernelCounterAttackTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    // Takes one unit of a counter; prints "ok" or the errno's name. Holding: takes units until refused
    // (at most 20,000), says how many in /workspace/held, then keeps them.
    private const string Counters = """
        import ctypes, errno, os, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        def inotify():
            fd = libc.inotify_init()
            if fd < 0: raise OSError(ctypes.get_errno(), "inotify_init")
        def watch(state={}):
            if "fd" not in state:
                state["fd"] = libc.inotify_init()
                os.makedirs("w", exist_ok=True)
                state["n"] = 0
            state["n"] += 1
            path = "w/%d" % state["n"]
            open(path, "w").close()
            if libc.inotify_add_watch(state["fd"], path.encode(), 2) < 0: raise OSError(ctypes.get_errno(), "inotify_add_watch")
        def fanotify():
            if libc.fanotify_init(0x200, 0) < 0: raise OSError(ctypes.get_errno(), "fanotify_init")  # FAN_REPORT_FID: unprivileged
        def pty():
            os.openpty()
        def mqueue(state={}):
            state["n"] = state.get("n", 0) + 1
            libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
            name = ("/q%d-%d" % (os.getpid(), state["n"])).encode()
            if libc.mq_open(name, 0o100 | 2, 0o600, None) < 0: raise OSError(ctypes.get_errno(), "mq_open")
            if sys.argv[2] == "once": libc.mq_unlink(name)
        take = globals()[sys.argv[1]]
        if sys.argv[2] == "refused":
            try:
                take(); print("taken")
            except OSError as e:
                print("refused")
            sys.exit(0)
        if sys.argv[2] == "once":
            try:
                take(); print("ok")
            except OSError as e:
                print(errno.errorcode.get(e.errno, str(e.errno)))
            sys.exit(0)
        held = 0
        try:
            while held < int(sys.argv[3]):
                take(); held += 1
        except OSError:
            pass
        with open("/workspace/held.tmp", "w") as f: f.write(str(held))
        os.rename("/workspace/held.tmp", "/workspace/held")
        time.sleep(3600)
        """;

    [Theory]
    [InlineData("inotify", 20_000)]
    [InlineData("watch", 200_000)]
    [InlineData("pty", 5_000)]
    public async Task ASandboxThatTakesAllOfACounter_LeavesOtherSandboxesAndTheHostTheirShare(string counter, int most)
    {
        await using var hog = await fixture.CreateAsync();
        await using var other = await fixture.CreateAsync();
        await Client.WriteTextAsync(hog.Id, "counters.py", Counters);
        await Client.WriteTextAsync(other.Id, "counters.py", Counters);

        await Client.StartProcessAsync(hog.Id, new StartProcessRequest(Argv: ["python3", "counters.py", counter, "hold", most.ToString()]));
        var held = await WaitForHeldAsync(hog.Id);

        Assert.True(held < most, $"the hog took {held} of '{counter}', as many as it tried: no share stopped it");
        Assert.Equal("ok\n", (await Client.ExecAsync(other.Id, new ExecRequest(Argv: ["python3", "counters.py", counter, "once"]))).Stdout);
        Assert.Equal("ok\n", await OnTheHostAsync(counter));
    }

    [Fact]
    public async Task Fanotify_WhoseHostLimitOnlyCapSysResourceCouldRaise_IsNotForSandboxes()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "counters.py", Counters);

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["python3", "counters.py", "fanotify", "refused"]));

        Assert.Equal("refused\n", result.Stdout + result.Stderr);
    }

    private async Task<int> WaitForHeldAsync(string sandbox)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                return int.Parse(await Client.ReadTextAsync(sandbox, "held"));
            }
            catch (HutchApiException e) when (e.Code == ErrorCodes.PathNotFound)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("the hog never said how much it held");
    }

    private static async Task<string> OnTheHostAsync(string counter)
    {
        var dir = TestPaths.NewTempDir("counters");
        try
        {
            await File.WriteAllTextAsync(Path.Join(dir, "counters.py"), Counters);
            using var probe = Process.Start(new ProcessStartInfo("python3", ["counters.py", counter, "once"]) { RedirectStandardOutput = true, WorkingDirectory = dir })!;
            var output = await probe.StandardOutput.ReadToEndAsync();
            await probe.WaitForExitAsync();
            return output;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
