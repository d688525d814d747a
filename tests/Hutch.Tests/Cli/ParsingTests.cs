using System.CommandLine;
using System.Text;
using Hutch.Client;
using Hutch.Cli;
using Hutch.Cli.Commands;
using Hutch.Cli.Engines;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class ParsingTests
{
    private static ParseResult Parse(params string[] args) => HutchCli.BuildRoot(new TestConsole().Console).Parse(args);

    private static async Task<(int Exit, string Stderr)> RunAsync(params string[] args)
    {
        var console = new TestConsole();
        var exit = await HutchCli.RunAsync(args, console.Console);
        return (exit, console.Error.ToString());
    }

    [Fact]
    public void TheTopLevelTable_NamesEachCommand_ByItsOwnNameAndAliases()
    {
        var built = HutchCli.BuildRoot(new TestConsole().Console).Subcommands;

        Assert.Equal(
            built.Select(c => string.Join(' ', [c.Name, .. c.Aliases.Order(StringComparer.Ordinal)])),
            HutchCli.TopLevel.Select(t => string.Join(' ', [t.Names[0], .. t.Names.Skip(1).Order(StringComparer.Ordinal)])));
    }

    [Theory]
    [InlineData("exec", "box", "--", "true")]
    [InlineData("exec", "box", "-i", "--no-stdin", "--", "true")]
    [InlineData("exec", "--bogus", "box", "--", "true")]
    [InlineData("exec", "box", "--max-output", "2T", "--", "true")]
    [InlineData("exec")]
    [InlineData("exec", "--help")]
    [InlineData("exec", "box", "--tiemout", "5", "--", "true")]
    [InlineData("list", "--json", "extra")]
    [InlineData("fs", "ls")]
    [InlineData("files", "lst", "box")]
    [InlineData("proc", "--help")]
    public void ALine_ParsesHelpsAndFails_TheSame_WithOnlyItsCommandBuilt(params string[] args)
    {
        var whole = Describe(HutchCli.BuildRoot(new TestConsole().Console).Parse(args));
        var one = Describe(HutchCli.BuildRoot(new TestConsole().Console, only: HutchCli.Invoked(args)).Parse(args));

        Assert.NotNull(HutchCli.Invoked(args));
        Assert.Equal(whole, one);
    }

    [Theory]
    [InlineData]
    [InlineData("--help")]
    [InlineData("--version")]
    [InlineData("exe", "box")]
    [InlineData("@args.rsp")]
    [InlineData("EXEC", "box")]
    public void ALineThatNamesNoCommandFirst_BuildsTheWholeTree(params string[] args) => Assert.Null(HutchCli.Invoked(args));

    [Theory]
    [InlineData("exec", "box", "--", "true")]
    [InlineData("exec", "sb-0123abc", "--", "ls", "-la", "--json")]
    [InlineData("exec", "my.box", "--", "sh", "-c", "echo hi; exit 3")]
    [InlineData("exec", "name with space", "--", "x")]
    [InlineData("exec", "box", "--", "--", "x", "--")]
    [InlineData("exec", "box", "--", "-h", "--help", "/?", "-?", "/h")]
    [InlineData("exec", "box", "--", "", "[diagram]", "[suggest]", "--version")]
    [InlineData("exec", "box", "--", "--url", "http://x", "--api-key", "k", "-i", "--keep-running")]
    [InlineData("exec", "ünï", "--", "😀")]
    public void APlainExecLine_IsReadAsTheParserReadsIt(params string[] args)
    {
        var (command, read) = ExecCommand.Define();
        command.SetAction(_ => 0);
        var root = new RootCommand { command };
        Connection.AddOptionsTo(root);
        var parse = root.Parse(args);
        Assert.Empty(parse.Errors);
        var expected = read(parse);

        var plain = ExecCommand.Plain(args);

        Assert.NotNull(plain);
        Assert.Equal(Encoding.UTF8.GetString(ExecJson.Write(expected.Request)), Encoding.UTF8.GetString(ExecJson.Write(plain.Request)));
        Assert.Equal(expected with { Request = plain.Request }, plain);
    }

    [Theory]
    [InlineData("exec", "box", "true")]
    [InlineData("exec", "box", "--")]
    [InlineData("exec", "--", "true")]
    [InlineData("exec", "-w", "sub", "box", "--", "true")]
    [InlineData("exec", "box", "-i", "--", "true")]
    [InlineData("exec", "/?", "--", "true")]
    [InlineData("exec", "-h", "--", "true")]
    [InlineData("exec", "@args.rsp", "--", "true")]
    [InlineData("exec", "box", "--", "cat", "@file")]
    [InlineData("exec", "[diagram]", "--", "true")]
    [InlineData("exec", "", "--", "true")]
    [InlineData("run", "--", "true")]
    [InlineData("EXEC", "box", "--", "true")]
    public void AnyOtherLine_GoesThroughTheParser(params string[] args) => Assert.Null(ExecCommand.Plain(args));

    /// <summary>What a parse leads to: the command, its errors, and the help or error text its action writes.</summary>
    private static string Describe(ParseResult parse)
    {
        var output = new StringWriter();
        if (parse.Action is System.CommandLine.Help.HelpAction)
        {
            parse.Invoke(new InvocationConfiguration { Output = output, Error = output });
        }
        return $"{parse.CommandResult.Command.Name}\n{string.Join('\n', parse.Errors.Select(e => e.Message))}\n{output}";
    }

    [Fact]
    public void Exec_TakesTheIdAndEverythingAfterTheDoubleDash()
    {
        var parse = Parse("exec", "box", "--env", "A=1", "--", "ls", "-la", "--json");

        Assert.Empty(parse.Errors);
        Assert.Equal("box", parse.GetValue<string>("id"));
        Assert.Equal(["ls", "-la", "--json"], parse.GetValue<string[]>("argv")!);
        Assert.Equal(["A=1"], parse.GetValue<string[]>("--env")!);
        Assert.False(parse.GetValue<bool>("--json"));
    }

    [Theory]
    [InlineData("exec", "box", "--tiemout", "5", "--", "true")]
    [InlineData("run", "--memroy", "256", "--", "true")]
    [InlineData("process", "start", "box", "--nmae", "x", "--", "sleep", "1")]
    public async Task AMisspeltOption_IsAUsageError_NotTheProgram(params string[] args)
    {
        var (exit, stderr) = await RunAsync(args);
        string[] programLikeAnOption = ["exec", "box", "--", "--url", "x"];

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains($"Unknown option '{args.First(a => a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)}'", stderr, StringComparison.Ordinal);
        Assert.Null(CommonOptions.OptionTakenAsProgram(programLikeAnOption, Parse(programLikeAnOption)));
    }

    [Fact]
    public void Run_TakesCreateOptions_AndTheCommand()
    {
        var parse = Parse("run", "--memory", "256", "--cpus", "0.5", "--user", "root", "-e", "X=1", "-e", "Y=a=b", "--", "python3", "-c", "print(1)");

        Assert.Empty(parse.Errors);
        Assert.Equal(["python3", "-c", "print(1)"], parse.GetValue<string[]>("argv")!);
        Assert.Equal(256, parse.GetValue<long?>("--memory"));
        Assert.Equal(0.5, parse.GetValue<double?>("--cpus"));
    }

    [Theory]
    [InlineData("1", 1L)]
    [InlineData("65536", 65536L)]
    [InlineData("64K", 65536L)]
    [InlineData("16m", 16L << 20)]
    [InlineData("1G", 1L << 30)]
    public void MaxOutput_TakesBytes_OrKMG(string text, long bytes)
    {
        var parse = Parse("exec", "box", "--max-output", text, "--", "true");

        Assert.Empty(parse.Errors);
        Assert.Equal(bytes, parse.GetValue<long?>("--max-output"));
    }

    [Theory]
    [InlineData("exec", "box", "--max-output", "0", "--", "true")]
    [InlineData("exec", "box", "--max-output", "2G", "--", "true")]
    [InlineData("exec", "box", "--max-output", "lots", "--", "true")]
    [InlineData("exec", "box", "-i", "--no-stdin", "--", "true")]
    [InlineData("run", "--max-output", "-5", "--", "true")]
    public async Task ExecAndRunOptions_OutOfRangeOrContradictory_AreUsageErrors(params string[] args)
    {
        var (exit, stderr) = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("hutch: ", stderr);
    }

    [Fact]
    public void CreateOptions_BecomeTheCreateRequest()
    {
        var options = new CreateOptions();
        var command = new Command("create");
        options.AddTo(command);

        var request = options.ToRequest(command.Parse(["--name", "box", "--env", "A=1", "--env", "B=x=y", "--cwd", "src", "--pids", "64", "--tmp", "32", "--ttl", "600", "--user", "root"]));

        Assert.Equal("box", request.Name);
        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "x=y" }, request.Env);
        Assert.Equal("src", request.Cwd);
        Assert.Equal(new SandboxLimits(Pids: 64, TmpMiB: 32), request.Limits);
        Assert.Equal(600, request.TtlSeconds);
        Assert.Equal("root", request.User);
    }

    [Fact]
    public void DiskAndIoOptions_BecomeLimits()
    {
        var options = new CreateOptions();
        var command = new Command("create");
        options.AddTo(command);

        var request = options.ToRequest(command.Parse(["--disk", "2048", "--io-weight", "300", "--io-read-bps", "1000000",
            "--io-write-bps", "2000000", "--io-read-iops", "100", "--io-write-iops", "50"]));

        Assert.Equal(new SandboxLimits(DiskMiB: 2048, IoWeight: 300, IoReadBps: 1_000_000, IoWriteBps: 2_000_000, IoReadIops: 100, IoWriteIops: 50), request.Limits);
    }

    [Fact]
    public void CreateOptions_LeftOut_LeaveEverythingToTheDaemon()
    {
        var options = new CreateOptions();
        var command = new Command("create");
        options.AddTo(command);

        Assert.Equal(new CreateSandboxRequest(), options.ToRequest(command.Parse([])));
    }

    [Theory]
    [InlineData("exec", "box")]
    [InlineData("exec", "box", "--shell", "echo hi", "--", "ls")]
    [InlineData("exec", "box", "--env", "NOEQUALS", "--", "ls")]
    [InlineData("run", "--user", "admin", "--", "ls")]
    [InlineData("run", "--memory", "lots", "--", "ls")]
    [InlineData("info")]
    [InlineData("rm")]
    [InlineData("frobnicate")]
    [InlineData]
    public async Task UsageErrors_ExitWith2_AndSayHutchColon(params string[] args)
    {
        var (exit, stderr) = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("hutch: ", stderr);
        Assert.Contains("--help", stderr);
    }

    [Fact]
    public async Task AMissingCommand_SaysHowToGiveOne()
    {
        var (_, stderr) = await RunAsync("run", "--memory", "64");

        Assert.Contains("hutch run -- ls -la", stderr);
    }

    [Fact]
    public async Task Help_ExitsWith0()
    {
        var console = new TestConsole();

        var exit = await HutchCli.RunAsync(["exec", "--help"], console.Console);

        Assert.Equal(0, exit);
        Assert.Contains("--timeout", console.Out.ToString());
    }

    [Fact]
    public async Task RunWithAMissingWorkspace_IsAUsageError()
    {
        var (exit, stderr) = await RunAsync("run", "--workspace", "/nonexistent/dir", "--", "true");

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("/nonexistent/dir is not a directory", stderr);
    }

    [Fact]
    public void Serve_FlagsOverrideTheDefaults()
    {
        var options = Hutch.Cli.Engine.InProcessEngineHost.ToOptions(new EngineSettings("http://127.0.0.1:9999", "relative/dir", "crun"));

        Assert.Equal("http://127.0.0.1:9999", options.Url);
        Assert.Equal(Path.GetFullPath("relative/dir"), options.DataDir);
        Assert.Equal("crun", options.Runtime);
        Assert.Equal(Path.Join(options.DataDir, "api-key"), options.ApiKeyFile);
    }

    [Theory]
    [InlineData(2.5, 2500L)]
    [InlineData(0.0001, 1L)]
    [InlineData(null, null)]
    public void Timeouts_AreSecondsOnTheCommandLine_AndMillisecondsOnTheWire(double? seconds, long? ms) =>
        Assert.Equal(ms, CommonOptions.ToTimeoutMs(seconds));

    [Theory]
    [InlineData("600", 600L)]
    [InlineData("90s", 90L)]
    [InlineData("30m", 1800L)]
    [InlineData("2h", 7200L)]
    [InlineData("1d", 86400L)]
    [InlineData("1h30m", 5400L)]
    public void Ttl_TakesADuration(string text, long seconds)
    {
        var ttl = Parse("ttl", "box", text);
        var create = Parse("create", "--ttl", text, "--label", "team=a", "--label", "role=web");

        Assert.Empty(ttl.Errors);
        Assert.Equal(seconds, ttl.GetValue<long?>("duration"));
        Assert.Empty(create.Errors);
        Assert.Equal(seconds, create.GetValue<long?>("--ttl"));
        Assert.Equal(["team=a", "role=web"], create.GetValue<string[]>("--label")!);
    }

    [Theory]
    [InlineData("30x")]
    [InlineData("m")]
    [InlineData("1.5h")]
    [InlineData("")]
    public void Ttl_RefusesWhatIsNotADuration(string text) =>
        Assert.NotEmpty(Parse("ttl", "box", text).Errors);

    [Fact]
    public void Ls_TakesLabelFilters()
    {
        var parse = Parse("ls", "--label", "team=a");

        Assert.Empty(parse.Errors);
        Assert.Equal(["team=a"], parse.GetValue<string[]>("--label")!);
    }

    [Fact]
    public void ClientCommands_TakeUrlAndApiKey_AndServeKeepsItsOwnUrl()
    {
        var exec = Parse("exec", "box", "--url", "http://h:1", "--api-key", "k", "--", "ls");
        var fs = Parse("fs", "ls", "box", "--url", "http://h:1");
        var serve = Parse("serve", "--url", "http://0.0.0.0:7311");

        Assert.Empty(exec.Errors);
        Assert.Equal(("http://h:1", "k"), (exec.GetValue<string?>("--url"), exec.GetValue<string?>("--api-key")));
        Assert.Equal(["ls"], exec.GetValue<string[]>("argv")!);
        Assert.Empty(fs.Errors);
        Assert.Empty(serve.Errors);
        Assert.Equal(new Uri("http://h:1/"), Connection.Endpoint(exec).BaseAddress);
        Assert.Equal("k", Connection.Endpoint(exec).ApiKey);
    }
}
