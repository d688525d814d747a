using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>Templates built from Dockerfiles through the API, in build sandboxes, step by step, cached by content.</summary>
[Collection(DaemonCollection.Name)]
public sealed class TemplateBuildTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    /// <summary>No egress in tests: the steps here need none, and the suite must not reach a real registry.</summary>
    private static readonly NetworkPolicy NoNetwork = new(NetworkModes.None);

    private static string NewName() => "b" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A template of <see cref="MinimalRoot"/> (dash, cat, id, mkdir, chown, stat …) with PATH set and no other setting.</summary>
    private async Task<string> BaseAsync()
    {
        byte[][] layers = [MinimalRoot.Tar()];
        var config = ImageBuilder.Config(layers, run: new JsonObject { ["Env"] = new JsonArray("PATH=/usr/bin:/bin") });
        var name = NewName();
        await Client.ImportTemplateAsync(new MemoryStream(ImageBuilder.DockerArchive(layers, config)), name);
        return name;
    }

    /// <summary>A build context tar: the files given, directories implied.</summary>
    private static MemoryStream Context(params (string Name, string Text)[] files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                });
            }
        }
        tar.Position = 0;
        return tar;
    }

    private async Task<(List<TemplateBuildEvent> Events, BuildFinishedEvent Finished)> BuildAsync(MemoryStream context, string name,
        Dictionary<string, string>? args = null)
    {
        var events = new List<TemplateBuildEvent>();
        await foreach (var e in Client.BuildTemplateAsync(context, new TemplateBuildOptions(name, BuildArgs: args, Network: NoNetwork)))
        {
            events.Add(e);
        }
        return (events, Assert.IsType<BuildFinishedEvent>(events[^1]));
    }

    private static string Output(IEnumerable<TemplateBuildEvent> events) =>
        Encoding.UTF8.GetString(events.OfType<BuildOutputEvent>().SelectMany(o => o.Data.ToArray()).ToArray());

    [Fact]
    public async Task ADockerfile_BuildsATemplate_WhoseSandboxesSeeItsRunCopyEnvWorkdirUserAndArgs()
    {
        var from = await BaseAsync();
        var name = NewName();
        var dockerfile = $$"""
            # syntax and comments are skipped
            ARG BASE={{from}}
            FROM ${BASE}
            arg GREETING=hello
            ENV APP_HOME=/app \
                MODE="fast mode"
            WORKDIR ${APP_HOME}
            # a comment inside a continued instruction
            RUN echo "$GREETING from $(id -u) in $(pwd) mode=$MODE" > built.txt && \
                echo step-output-visible
            COPY --chown=user:user data/ ./data/
            RUN mkdir /app/owned && chown user:user /app/owned
            USER user
            run ["/bin/sh", "-c", "id -u > /app/owned/who"]
            CMD ["/bin/sh", "-c", "echo started; while true; do sleep 1; done"]
            HEALTHCHECK --interval=1s CMD test -f /app/built.txt
            EXPOSE 8080
            """;
        var context = Context(("Dockerfile", dockerfile), ("data/a.txt", "A\n"), ("data/sub/b.txt", "B\n"), ("data/ignored.txt", "no\n"),
            (".dockerignore", "# not sent\ndata/ignored.txt\n"));

        var (events, finished) = await BuildAsync(context, name, new() { ["GREETING"] = "hi" });
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: name));
        var seen = await sandbox.ShAsync("cat /app/built.txt; stat -c '%u:%g %a' /app/data/a.txt /app/data/sub; cat /app/owned/who; ls /app/data");

        var t = finished.Template;
        Assert.Equal((name, "1", "dockerfile", 4, 0), (t.Name, t.Version, t.Source, finished.StepsRun, finished.StepsCached));
        Assert.Equal(("/app", "user"), (t.WorkingDir, t.User));
        Assert.Equal(("/app", "fast mode"), (t.Env["APP_HOME"], t.Env["MODE"]));
        Assert.False(t.Env.ContainsKey("GREETING")); // an ARG is the build's, not the template's
        Assert.Equal(["/bin/sh", "-c", "echo started; while true; do sleep 1; done"], t.Start!);
        Assert.Equal(("command", "test -f /app/built.txt", 1000L), (t.Readiness!.Type, t.Readiness.Command, t.Readiness.IntervalMs));
        Assert.Contains(events.OfType<BuildWarningEvent>(), w => w.Message.Contains("EXPOSE", StringComparison.Ordinal));
        Assert.Contains("step-output-visible", Output(events));
        Assert.Equal("hi from 0 in /app mode=fast mode\n1000:1000 644\n1000:1000 755\n1000\na.txt\nsub\n", seen.Stdout);
    }

    [Fact]
    public async Task ABuildAgain_RunsNothing_AndChangingTheLastStep_RerunsOnlyIt()
    {
        var from = await BaseAsync();
        string Dockerfile(string last) => $"""
            FROM {from}
            USER root
            RUN echo one > /one
            COPY a.txt /opt/a.txt
            RUN echo two > /two
            RUN {last}
            """;

        var first = await BuildAsync(Context(("Dockerfile", Dockerfile("echo three > /three")), ("a.txt", "a\n")), NewName());
        var again = await BuildAsync(Context(("Dockerfile", Dockerfile("echo three > /three")), ("a.txt", "a\n")), NewName());
        var changed = await BuildAsync(Context(("Dockerfile", Dockerfile("echo four > /four")), ("a.txt", "a\n")), NewName());
        var copied = await BuildAsync(Context(("Dockerfile", Dockerfile("echo four > /four")), ("a.txt", "changed\n")), NewName());
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: changed.Finished.Template.Name));
        var seen = await sandbox.ShAsync("cat /one /two /four /opt/a.txt; ls /three 2>/dev/null || echo no-three");

        Assert.Equal((4, 0), (first.Finished.StepsRun, first.Finished.StepsCached));
        Assert.Equal((0, 4), (again.Finished.StepsRun, again.Finished.StepsCached));
        Assert.Equal(first.Finished.Template.Digest, again.Finished.Template.Digest);
        Assert.Equal((1, 3), (changed.Finished.StepsRun, changed.Finished.StepsCached));
        Assert.Equal([3, 4, 5], changed.Events.OfType<BuildCachedEvent>().Select(c => c.Step));
        Assert.Equal((3, 1), (copied.Finished.StepsRun, copied.Finished.StepsCached)); // the COPY and both RUNs after it
        Assert.Equal("one\ntwo\nfour\na\nno-three\n", seen.Stdout);
    }

    [Fact]
    public async Task AFailingRun_NamesItsStepLineAndOutput_AndMakesNoTemplate()
    {
        var from = await BaseAsync();
        var name = NewName();
        var context = Context(("Dockerfile", $"FROM {from}\nUSER root\nRUN echo fine > /fine\nRUN echo boom-output; echo on-stderr >&2; exit 3\nRUN echo never\n"));

        var events = new List<TemplateBuildEvent>();
        var failed = await Assert.ThrowsAsync<HutchApiException>(async () =>
        {
            await foreach (var e in Client.BuildTemplateAsync(context, new TemplateBuildOptions(name, Network: NoNetwork)))
            {
                events.Add(e);
            }
        });

        Assert.Equal((ErrorCodes.BuildStepFailed, 422), (failed.Code, failed.Status));
        Assert.Contains("step 4 (line 4: RUN echo boom-output", failed.Message);
        Assert.Contains("exited with 3", failed.Message);
        Assert.Contains("boom-output\n", failed.Message);
        Assert.Contains("on-stderr", failed.Message);
        Assert.DoesNotContain(events.OfType<BuildStepEvent>(), s => s.Step == 5);
        Assert.DoesNotContain(await Client.ListTemplatesAsync(), t => t.Name == name);
        Assert.DoesNotContain((await Client.ListSandboxesAsync()), s => s.Template?.StartsWith('@') == true);
    }

    [Theory]
    [InlineData("FROM {0}\nVOLUME /data\n", "line 2: VOLUME is not supported")]
    [InlineData("FROM {0} AS builder\nRUN true\n", "line 1: FROM … AS builder (a multi-stage build)")]
    [InlineData("FROM {0}\nRUN true\nFROM {0}\n", "line 3: a second FROM")]
    [InlineData("RUN true\nFROM {0}\n", "line 1: RUN before FROM")]
    [InlineData("FROM {0}\nRUN --mount=type=cache,target=/x true\n", "line 2: RUN --mount is not supported")]
    [InlineData("FROM {0}\nFROBNICATE x\n", "line 2: FROBNICATE is not an instruction")]
    [InlineData("FROM docker.io/library/debian\n", "line 1: FROM: template name")]
    [InlineData("# nothing here\n", "has no FROM")]
    public async Task ADockerfileHutchCannotBuild_IsRefusedBeforeAnyStep_NamingTheLine(string dockerfile, string expected)
    {
        var from = await BaseAsync();
        var context = Context(("Dockerfile", string.Format(System.Globalization.CultureInfo.InvariantCulture, dockerfile, from)));

        var refused = await Assert.ThrowsAsync<HutchApiException>(async () =>
        {
            await foreach (var _ in Client.BuildTemplateAsync(context, new TemplateBuildOptions(NewName(), Network: NoNetwork)))
            {
            }
        });

        Assert.Equal((ErrorCodes.DockerfileInvalid, 400), (refused.Code, refused.Status));
        Assert.Contains(expected, refused.Message);
    }

    [Fact]
    public async Task ACopyOfWhatTheContextLacksOrThatClimbsOut_IsRefused_AndAnUnknownFromIsNotFound()
    {
        var from = await BaseAsync();

        async Task<HutchApiException> Refused(MemoryStream context) => await Assert.ThrowsAsync<HutchApiException>(async () =>
        {
            await foreach (var _ in Client.BuildTemplateAsync(context, new TemplateBuildOptions(NewName(), Network: NoNetwork)))
            {
            }
        });

        var missing = await Refused(Context(("Dockerfile", $"FROM {from}\nCOPY nothere.txt /x\n")));
        var climbing = await Refused(Context(("Dockerfile", $"FROM {from}\nCOPY ../../etc/passwd /x\n")));
        var url = await Refused(Context(("Dockerfile", $"FROM {from}\nADD https://example.org/x /x\n")));
        var unknown = await Refused(Context(("Dockerfile", "FROM no-such-template\nRUN true\n")));
        var noDockerfile = await Refused(Context(("other", "x")));

        Assert.Equal(ErrorCodes.BuildContextInvalid, missing.Code);
        Assert.Contains("line 2: 'nothere.txt' is not in the build context", missing.Message);
        Assert.Equal(ErrorCodes.BuildContextInvalid, climbing.Code);
        Assert.Contains("'..'", climbing.Message);
        Assert.Equal(ErrorCodes.DockerfileInvalid, url.Code);
        Assert.Equal((ErrorCodes.TemplateNotFound, 404), (unknown.Code, unknown.Status));
        Assert.Equal(ErrorCodes.BuildContextInvalid, noDockerfile.Code);
    }
}
