using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Secrets;

/// <summary>
/// Secrets given to a sandbox as environment variables, through the real daemon and runc: every
/// command holds the real value, and nothing Hutch hands out shows it, however it is printed.
/// </summary>
public sealed class SecretEnvTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private HutchClient Client => fixture.Client;

    private Task<string> StoreAsync(string value, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        TestSecrets.StoreAsync(Client, value, test);

    private static string Value(string tag) => TestSecrets.Value(tag);

    [Fact]
    public async Task EveryCommand_HoldsTheValue_AndItsOutputNeverShowsIt()
    {
        var value = Value("env");
        var name = await StoreAsync(value);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "API_KEY")]));

        var same = await sandbox.ShAsync($"test \"$API_KEY\" = '{value}' && echo same");
        var echo = await sandbox.ShAsync("echo \"key=$API_KEY\"; echo \"$API_KEY\" >&2");
        var printenv = await sandbox.ShAsync("printenv");
        var base64 = await sandbox.ShAsync("printf %s \"$API_KEY\" | base64 -w0; echo; echo \"x$API_KEY\" | base64 -w0; echo; echo \"xy$API_KEY\" | base64 -w0");
        var slow = await sandbox.ShAsync("printf %s \"$API_KEY\" | fold -w1 | while IFS= read -r c; do printf %s \"$c\"; sleep 0.01; done; echo");
        var failed = await sandbox.ShAsync("ls \"/nowhere/$API_KEY\"");

        Assert.Equal("same\n", same.Stdout);
        Assert.Equal(($"key=[REDACTED:{name}]\n", $"[REDACTED:{name}]\n"), (echo.Stdout, echo.Stderr));
        Assert.Contains($"API_KEY=[REDACTED:{name}]\n", printenv.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, base64.Stdout.Split($"[REDACTED:{name}]").Length - 1);
        Assert.Equal($"[REDACTED:{name}]\n", slow.Stdout);
        Assert.Contains($"[REDACTED:{name}]", failed.Stderr, StringComparison.Ordinal);
        var everything = string.Concat(echo.Stdout, echo.Stderr, printenv.Stdout, base64.Stdout, slow.Stdout, failed.Stderr);
        Assert.DoesNotContain(value, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(value[3..20], everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStreamedExec_IsRedacted_WhereverTheFramesSplitTheValue()
    {
        var value = Value("stream");
        var name = await StoreAsync(value);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name)]));

        var stdout = new List<byte>();
        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command:
            $"printf %s \"${name}\" | fold -w3 | while IFS= read -r c; do printf %s \"$c\"; sleep 0.02; done; echo")))
        {
            if (e is ExecStdoutEvent o)
            {
                stdout.AddRange(o.Data.ToArray());
            }
        }

        Assert.Equal($"[REDACTED:{name}]\n", Encoding.UTF8.GetString([.. stdout]));
    }

    [Fact]
    public async Task TheSandbox_ShowsItsSecretsByName_AndTheStoreShowsWhoUsesThem()
    {
        var name = await StoreAsync(Value("meta"));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, SecretKinds.Env, "TOKEN")]));

        var info = await Client.GetSandboxAsync(sandbox.Id);
        var secret = await Client.GetSecretAsync(name);
        var inUse = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteSecretAsync(name));

        Assert.Equal([new SecretUseInfo(name, "env", "TOKEN")], info.Secrets!);
        Assert.Equal([sandbox.Id], secret.UsedBy!);
        Assert.Equal((ErrorCodes.SecretInUse, 409), (inUse.Code, inUse.Status));
        Assert.Contains(sandbox.Id, inUse.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_GivesNewCommandsTheNewValue_AndBothStayRedacted_EvenAfterAForcedDelete()
    {
        var first = Value("old");
        var second = Value("new");
        var name = await StoreAsync(first);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "K")]));
        await Client.WriteTextAsync(sandbox.Id, "old.txt", first);

        await Client.RotateSecretAsync(name, new RotateSecretRequest(second));
        var rotated = await sandbox.ShAsync($"test \"$K\" = '{second}' && echo new; cat old.txt; echo; echo $K");
        await Client.DeleteSecretAsync(name, force: true);
        var deleted = await sandbox.ShAsync("echo \"[${K:-unset}]\"; cat old.txt");

        Assert.Equal($"new\n[REDACTED:{name}]\n[REDACTED:{name}]\n", rotated.Stdout);
        Assert.Equal($"[unset]\n[REDACTED:{name}]", deleted.Stdout);
    }

    [Fact]
    public async Task TruncatedOutput_IsKeptRedacted()
    {
        var value = Value("kept");
        var name = await StoreAsync(value);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "K")]));

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "for i in $(seq 2000); do echo \"$i $K\"; done", MaxOutputBytes: 4096));
        using var reader = new StreamReader(await Client.ReadExecOutputAsync(sandbox.Id, result.FullOutput!.Id, "stdout"));
        var text = await reader.ReadToEndAsync();

        Assert.True(result.Truncated);
        Assert.DoesNotContain(value, result.Stdout + result.StdoutTail, StringComparison.Ordinal);
        Assert.Contains($"2000 [REDACTED:{name}]\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain(value, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadUses_AreRefused_NamingTheField_AndNothingIsCreated()
    {
        var name = await StoreAsync(Value("bad"));
        var before = (await Client.ListSandboxesAsync()).Count;

        async Task<HutchApiException> Refused(CreateSandboxRequest request) =>
            await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(request));

        var unknown = await Refused(new CreateSandboxRequest(Secrets: [new SecretUse(name), new SecretUse("NO_SUCH_SECRET_X")]));
        var kind = await Refused(new CreateSandboxRequest(Secrets: [new SecretUse(name, "telepathy")]));
        var badEnv = await Refused(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "1BAD")]));
        var clashHutch = await Refused(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "PATH")]));
        var clashEnv = await Refused(new CreateSandboxRequest(Env: new() { ["K"] = "v" }, Secrets: [new SecretUse(name, Env: "K")]));
        var twice = await Refused(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "A"), new SecretUse(name, Env: "A")]));

        Assert.Equal((ErrorCodes.UnknownSecret, 400), (unknown.Code, unknown.Status));
        Assert.Contains("secrets[1].name", unknown.Message, StringComparison.Ordinal);
        Assert.Equal((ErrorCodes.InvalidSecret, "secrets[0].as"), (kind.Code, Field(kind)));
        Assert.Equal((ErrorCodes.InvalidSecret, "secrets[0].env"), (badEnv.Code, Field(badEnv)));
        Assert.Equal((ErrorCodes.SecretEnvConflict, 400), (clashHutch.Code, clashHutch.Status));
        Assert.Equal(ErrorCodes.SecretEnvConflict, clashEnv.Code);
        Assert.Contains("secrets[1].env", twice.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Count);
    }

    [Fact]
    public async Task AProcessOrService_GetsItsOwnSecrets_AndTheyAreRedactedLikeTheSandboxs()
    {
        var value = Value("proc");
        var name = await StoreAsync(value);
        await using var sandbox = await fixture.CreateAsync();

        var process = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: $"test \"$P\" = '{value}' && echo \"p=$P\"", Secrets: [new SecretUse(name, Env: "P")]));
        await Client.WaitProcessAsync(sandbox.Id, process.Id);
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, process.Id);
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("svc", Command: "echo \"s=$S\"; sleep 300", Secrets: [new SecretUse(name, Env: "S")]));
        ServiceLogs service;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await Task.Delay(50);
            service = await Client.ServiceLogsAsync(sandbox.Id, "svc");
        }
        while (service.Stdout.Length == 0 && waited.Elapsed < TimeSpan.FromSeconds(20));
        var exec = await sandbox.ShAsync($"echo '{value}'; echo \"[${{P:-none}}]\""); // the value is known to the sandbox now; P is not its
        var conflict = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id,
            new StartProcessRequest(Command: "true", Env: new() { ["P"] = "x" }, Secrets: [new SecretUse(name, Env: "P")])));
        var unknown = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id,
            new StartProcessRequest(Command: "true", Secrets: [new SecretUse("NO_SUCH_SECRET_Y")])));

        Assert.Equal($"p=[REDACTED:{name}]\n", logs.Stdout);
        Assert.Equal($"s=[REDACTED:{name}]\n", service.Stdout);
        Assert.Equal($"[REDACTED:{name}]\n[none]\n", exec.Stdout);
        Assert.Equal((ErrorCodes.SecretEnvConflict, ErrorCodes.UnknownSecret), (conflict.Code, unknown.Code));
        Assert.Null((await Client.GetSandboxAsync(sandbox.Id)).Secrets); // a process's secrets are not the sandbox's
        Assert.Equal([sandbox.Id], (await Client.GetSecretAsync(name)).UsedBy!);
    }

    [Fact]
    public async Task TheEnvironOfAProcessHoldingASecret_IsRedactedInside_AndOutOfReachOfAnotherSandbox()
    {
        var value = Value("environ");
        var name = await StoreAsync(value);
        await using var holder = await fixture.CreateAsync();
        await using var other = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));
        await Client.StartProcessAsync(holder.Id, new StartProcessRequest(Command: "exec sleep 300", Secrets: [new SecretUse(name, Env: "HELD")]));
        await holder.WaitForProgramAsync("sleep");

        // Another command of the same sandbox (same user) may read it: the sandbox holds the value, and what it prints is redacted.
        var inside = await holder.ShAsync("for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | grep '^HELD='; done");
        // Another sandbox, even as root, sees only its own processes, and no environ or memory holds the value.
        var outside = await other.ShAsync(
            $"grep -l -a -s -F '{value}' /proc/[0-9]*/environ /proc/[0-9]*/cmdline; grep -c -a -s -F '{value}' /proc/1/mem; echo \"pids=$(ls -d /proc/[0-9]* | wc -l)\"");

        Assert.Equal($"HELD=[REDACTED:{name}]\n", inside.Stdout);
        Assert.DoesNotContain(value, outside.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/environ", outside.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"pids=[1-9]\n$", outside.Stdout); // pid 1 (its agent), the shell and its children only
    }

    [Fact]
    public async Task ACommand_CannotReplaceASecretsVariable()
    {
        var name = await StoreAsync(Value("cmd"));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, Env: "K")]));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo $K", Env: new() { ["K"] = "mine" })));

        Assert.Equal(ErrorCodes.SecretEnvConflict, e.Code);
    }

    private static string Field(HutchApiException e) => e.Message.Split(':')[1].Trim();
}
