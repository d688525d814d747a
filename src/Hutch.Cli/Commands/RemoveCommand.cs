using System.CommandLine;
using Hutch.Cli.Output;
using Hutch.Client;

namespace Hutch.Cli.Commands;

/// <summary>`hutch rm ID...`: deletes sandboxes; each one is tried even when another fails.</summary>
internal static class RemoveCommand
{
    public static Command Create(CliConsole console)
    {
        var ids = new Argument<string[]>("id") { Description = "Ids or names of the sandboxes to delete", Arity = ArgumentArity.OneOrMore };
        var keepWorkspace = new Option<bool>("--keep-workspace") { Description = "Keep each sandbox's /workspace directory on the host" };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once each delete has begun; the daemon finishes it in the background (the sandbox is 'deleting' meanwhile)" };
        var json = CommonOptions.Json();
        var command = new Command("rm", "Delete sandboxes (deleting one that is gone succeeds)") { ids, keepWorkspace, noWait, json };
        command.Aliases.Add("delete");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var deleted = new List<string>();
            var failed = new List<(string Id, HutchApiException Error)>();
            foreach (var id in parse.GetRequiredValue(ids))
            {
                try
                {
                    await (parse.GetValue(noWait)
                        ? client.BeginDeleteSandboxAsync(id, parse.GetValue(keepWorkspace), cancellationToken)
                        : client.DeleteSandboxAsync(id, parse.GetValue(keepWorkspace), cancellationToken)).ConfigureAwait(false);
                    deleted.Add(id);
                    if (!parse.GetValue(json))
                    {
                        console.Out.WriteLine(id);
                    }
                }
                catch (HutchApiException e) when (e.Code != ClientErrorCodes.DaemonUnreachable && e.Code != Hutch.Protocol.Api.ErrorCodes.Unauthorized)
                {
                    failed.Add((id, e));
                    if (!parse.GetValue(json))
                    {
                        console.Fail($"{id}: {e.Detail}", e.Code);
                    }
                }
            }

            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("deleted");
                    deleted.ForEach(w.WriteStringValue);
                    w.WriteEndArray();
                    w.WriteStartArray("failed");
                    foreach (var (id, error) in failed)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", id);
                        w.WriteString("code", error.Code);
                        w.WriteString("detail", error.Detail);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            return failed.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }
}
