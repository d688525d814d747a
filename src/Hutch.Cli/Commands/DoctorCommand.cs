using System.CommandLine;
using Hutch.Cli.Doctor;
using Hutch.Cli.Engines;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>`hutch doctor`: checks that this host can run sandboxes; exits 1 when any check fails.</summary>
internal static class DoctorCommand
{
    public static Command Create(CliConsole console, IEngineHost engine)
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory to check (default /var/lib/hutch, env HUTCH_DATA_DIR)", HelpName = "DIR" };
        var runtime = new Option<string?>("--runtime") { Description = "OCI runtime to check (default runc, env HUTCH_RUNTIME)", HelpName = "BIN" };
        var json = CommonOptions.Json();
        var command = new Command("doctor", "Check that this host can run Hutch sandboxes") { dataDir, runtime, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var checks = await engine.CheckHostAsync(new EngineSettings(DataDir: parse.GetValue(dataDir), Runtime: parse.GetValue(runtime)), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, checks);
            }
            else
            {
                console.Out.Write(Render(checks));
            }
            return checks.All(c => c.Ok) ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>One line per check: "ok    runtime          runc version 1.1.5 (/usr/sbin/runc)"; failures add "→ fix".</summary>
    public static string Render(IReadOnlyList<DoctorCheck> checks)
    {
        var width = checks.Max(c => c.Name.Length) + 2;
        var text = new System.Text.StringBuilder();
        foreach (var check in checks)
        {
            text.Append(check.Ok ? "ok    " : "FAIL  ").Append(check.Name.PadRight(width)).Append(check.Detail);
            if (!check.Ok && check.Fix is not null)
            {
                text.Append(" → ").Append(check.Fix);
            }
            text.Append('\n');
        }
        var failed = checks.Count(c => !c.Ok);
        text.Append(failed == 0 ? "All checks passed: this host can run Hutch sandboxes.\n" : $"{failed} check(s) failed: fix them, then run `hutch doctor` again.\n");
        return text.ToString();
    }

    private static void WriteJson(TextWriter output, IReadOnlyList<DoctorCheck> checks) =>
        JsonOutput.Write(output, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", checks.All(c => c.Ok));
            w.WriteStartArray("checks");
            foreach (var check in checks)
            {
                w.WriteStartObject();
                w.WriteString("name", check.Name);
                w.WriteBoolean("ok", check.Ok);
                w.WriteString("detail", check.Detail);
                if (check.Fix is not null)
                {
                    w.WriteString("fix", check.Fix);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
}
