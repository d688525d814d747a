using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Agent;

/// <summary>
/// Writes file secrets into <c>/run/secrets</c>, the tmpfs every sandbox has (its pages are memory,
/// never the host's disk). A new file under a random name beside it, created exclusively and
/// without following links, then renamed over the name: a command never reads half a value, and a
/// link or file planted at the name is replaced, never written through. The agent runs as the
/// sandbox's user, so the file is that user's; 0400 keeps even its writes off.
/// </summary>
internal static class SecretFiles
{
    private const int ReadOnlyByOwner = 0b100_000_000;

    public static AgentError? Write(SecretFile file)
    {
        try
        {
            if (!SecretFile.IsValidName(file.Name))
            {
                return new AgentError(AgentErrorCodes.BadRequest, "a secret file's name is 1-128 of letters, digits, '.', '_' and '-', not starting with '.'");
            }
            using var dir = Beneath.OpenRoot(SecretKinds.FileDir);
            var temporary = ".new-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            using (var target = Beneath.Open(dir, temporary, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL, ReadOnlyByOwner, noSymlinks: true))
            {
                if (!Fds.WriteAll(target, file.Value))
                {
                    throw new IOException("short write");
                }
            }
            try
            {
                At.Rename(dir, temporary, dir, file.Name);
            }
            catch
            {
                At.Unlink(dir, temporary);
                throw;
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new AgentError(AgentErrorCodes.WriteFailed, $"cannot write {SecretKinds.FileDir}/{file.Name}: {e.Message}");
        }
        finally
        {
            Array.Clear(file.Value);
        }
    }
}
