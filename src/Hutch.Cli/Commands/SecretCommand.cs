using System.CommandLine;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch secret set|ls|show|rotate|rm`: the daemon's write-only secret store. A value is read from
/// stdin only, never from the command line (where `ps` and shell history would keep it).
/// </summary>
internal static class SecretCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("secret", "The daemon's secrets: stored encrypted, never shown again (docs/secrets.md)")
        {
            Set(console),
            List(console),
            Show(console),
            Rotate(console),
            Remove(console),
        };
        command.Aliases.Add("secrets");
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The secret's name, as an environment variable's (OPENAI_API_KEY)" };

    private static Command Set(CliConsole console)
    {
        var name = NameArgument();
        var hosts = new Option<string[]>("--host") { Description = "A host name or glob it may be sent to, optionally :PORT (repeatable)", HelpName = "HOST", AllowMultipleArgumentsPerToken = false };
        var description = new Option<string?>("--description") { Description = "What it is for", HelpName = "TEXT" };
        var substitute = new Option<string?>("--substitute")
        {
            Description = "Where its placeholder is swapped for the value in requests to its hosts, comma-separated: header (the default), query, body (up to 1 MiB, not compressed)",
            HelpName = "WHERE",
        };
        var json = CommonOptions.Json();
        var command = new Command("set", "Store a new secret, its value piped in on stdin (one trailing newline dropped) or typed at a prompt with echo off: printf %s \"$KEY\" | hutch secret set NAME")
        {
            name, hosts, description, substitute, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var value = await ReadValueAsync(console, cancellationToken).ConfigureAwait(false);
            using var client = Connection.Connect(parse);
            var info = await client.CreateSecretAsync(new CreateSecretRequest(parse.GetRequiredValue(name), ValueBase64: Convert.ToBase64String(value),
                Description: parse.GetValue(description), Hosts: parse.GetValue(hosts) is { Length: > 0 } h ? h : null,
                Substitute: parse.GetValue(substitute)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)), cancellationToken).ConfigureAwait(false);
            Array.Clear(value);
            Print(console, info, parse.GetValue(json), $"{info.Name}: stored (version {info.Version})");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rotate(CliConsole console)
    {
        var name = NameArgument();
        var json = CommonOptions.Json();
        var command = new Command("rotate", "Give a secret a new value, piped in on stdin or typed at a prompt: a new version") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var value = await ReadValueAsync(console, cancellationToken).ConfigureAwait(false);
            using var client = Connection.Connect(parse);
            var info = await client.RotateSecretAsync(parse.GetRequiredValue(name), new RotateSecretRequest(ValueBase64: Convert.ToBase64String(value)), cancellationToken).ConfigureAwait(false);
            Array.Clear(value);
            Print(console, info, parse.GetValue(json), $"{info.Name}: rotated (version {info.Version})");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var json = CommonOptions.Json();
        var command = new Command("ls", "List the secrets (names and metadata, never values)") { json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var secrets = await client.ListSecretsAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new SecretList([.. secrets]), JsonOutput.Context.SecretList);
                return ExitCodes.Success;
            }
            if (secrets.Count == 0)
            {
                console.Out.WriteLine("no secrets");
                return ExitCodes.Success;
            }
            var table = new Table("NAME", "VERSION", "CREATED", "HOSTS", "DESCRIPTION");
            foreach (var s in secrets)
            {
                table.Add(s.Name, s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), Format.Instant(s.CreatedAt),
                    s.Hosts.Length == 0 ? "-" : string.Join(' ', s.Hosts), SafeText.Show(s.Description ?? ""));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliConsole console)
    {
        var name = NameArgument();
        var json = CommonOptions.Json();
        var command = new Command("show", "Show a secret's metadata (never its value)") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var s = await client.GetSecretAsync(parse.GetRequiredValue(name), cancellationToken).ConfigureAwait(false);
            Print(console, s, parse.GetValue(json),
                $"name         {s.Name}\nversion      {s.Version}\ncreated      {Format.Instant(s.CreatedAt)}\nrotated      {(s.RotatedAt is { } r ? Format.Instant(r) : "-")}\n"
                + $"hosts        {(s.Hosts.Length == 0 ? "-" : string.Join(' ', s.Hosts))}\n"
                + (s.Hosts.Length > 0 ? $"substitute   {string.Join(',', s.Substitute ?? [])}\n" : "")
                + $"description  {SafeText.Show(s.Description ?? "-")}\n"
                + $"used by      {(s.UsedBy is { Length: > 0 } users ? string.Join(' ', users) : "-")}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var name = NameArgument();
        var force = new Option<bool>("--force") { Description = "Delete it even while sandboxes use it: new commands no longer get it; what they hold stays redacted" };
        var command = new Command("rm", "Delete a secret and every version of its value") { name, force };
        command.Aliases.Add("delete");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await client.DeleteSecretAsync(parse.GetRequiredValue(name), parse.GetValue(force), cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine($"{parse.GetRequiredValue(name)}: deleted");
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliConsole console, SecretInfo info, bool json, string text)
    {
        if (json)
        {
            JsonOutput.Write(console.Out, info, JsonOutput.Context.SecretInfo);
        }
        else
        {
            console.Out.WriteLine(text);
        }
    }

    /// <summary>The value from stdin (a pipe or a file), or typed at a prompt with echo off; never from the command line.</summary>
    private static async Task<byte[]> ReadValueAsync(CliConsole console, CancellationToken cancellationToken)
    {
        await using var stdin = console.OpenRedirectedStdin();
        if (stdin is null)
        {
            return Prompt(console);
        }
        using var buffer = new MemoryStream();
        await stdin.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var value = buffer.ToArray();
        // `echo "$KEY" |` adds a newline that is not part of the key.
        var end = value.Length > 0 && value[^1] == '\n' ? (value.Length > 1 && value[^2] == '\r' ? value.Length - 2 : value.Length - 1) : value.Length;
        return value[..end];
    }

    /// <summary>A terminal: the value is typed with echo off (as passwd does), one line.</summary>
    private static byte[] Prompt(CliConsole console)
    {
        // Read from fd 0 directly: .NET's Console.In manages the terminal itself and would echo.
        var line = new List<byte>();
        using (Hutch.Linux.RawTerminalMode.TryHideEcho(0))
        using (var tty = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0))
        {
            // Echo is off before the prompt shows, so nothing typed after it is ever echoed.
            console.Error.Write("Value (not shown): ");
            console.Error.Flush();
            int b;
            while ((b = tty.ReadByte()) >= 0 && b != '\n')
            {
                line.Add((byte)b);
            }
            if (b < 0 && line.Count == 0)
            {
                throw new CliException(ErrorCodes.InvalidRequest, "No value was typed (end of input): type it at the prompt, or pipe it in: printf %s \"$KEY\" | hutch secret set NAME.", ExitCodes.Usage);
            }
        }
        console.Error.WriteLine();
        return [.. line];
    }
}
