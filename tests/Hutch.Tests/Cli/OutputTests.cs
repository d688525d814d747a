using Hutch.Cli.Commands;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class OutputTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ls_PrintsAnAlignedTable_OldestFirst()
    {
        var text = ListCommand.Render([
            new SandboxInfo("sbx-b", null, "running", Now.AddMinutes(-5), null, "user", "/workspace", new SandboxLimits(), null),
            new SandboxInfo("sbx-a", "web", "lost", Now.AddHours(-3), Now.AddMinutes(10), "root", "/workspace", new SandboxLimits(), null),
        ], Now);

        Assert.Equal("""
            ID     NAME  STATE    CREATED  EXPIRES
            sbx-a  web   lost     3h ago   in 10m
            sbx-b  -     running  5m ago   never

            """.Replace("\r", ""), text);
    }

    [Fact]
    public void Info_ShowsLimitsAndUsage()
    {
        var text = InfoCommand.Render(new SandboxInfo("sbx1", "box", "running", Now.AddSeconds(-30), null, "user", "/workspace",
            new SandboxLimits(512, 256, 1.5, 64), new SandboxUsage(12 * 1024 * 1024, 20 * 1024 * 1024, 3, 1500, 0)), Now);

        Assert.Contains("created  2025-01-02 11:59:30Z (30s ago)\n", text);
        Assert.Contains("limits   memory 512 MiB, pids 256, cpus 1.5, tmp 64 MiB\n", text);
        Assert.Contains("usage    memory 12.0 MiB (peak 20.0 MiB), pids 3, cpu 1.5 s, oom kills 0\n", text);
    }

    [Fact]
    public void Events_OneLinePerEvent_OldestFirst()
    {
        var text = EventsCommand.Render([
            new SandboxEvent(Now.AddSeconds(-5), SandboxEventTypes.Adopted, "A starting daemon found the sandbox running and took it over."),
            new SandboxEvent(Now, SandboxEventTypes.CommandAdopted, "The command 'sleep 601' …", "x-0a1b2c3d4e"),
        ]);

        Assert.Equal(
            "2025-01-02 11:59:55Z  adopted         A starting daemon found the sandbox running and took it over.\n" +
            "2025-01-02 12:00:00Z  command_adopted The command 'sleep 601' …\n", text);
        Assert.Equal("no events\n", EventsCommand.Render([]));
    }

    [Fact]
    public void Json_UsesTheApiFieldNames()
    {
        var output = new StringWriter();

        JsonOutput.Write(output, new SandboxList([]), JsonOutput.Context.SandboxList);

        Assert.Equal("{\n  \"sandboxes\": []\n}\n", output.ToString().Replace("\r", ""));
    }

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(3L * 1024 * 1024 * 1024, "3.0 GiB")]
    public void Bytes_AreShownInBinaryUnits(long bytes, string expected) => Assert.Equal(expected, Format.Bytes(bytes));
}
