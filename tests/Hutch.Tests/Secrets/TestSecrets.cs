using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Secrets;

/// <summary>Secrets stored for one test: a name unique to the test, made fresh each run.</summary>
internal static class TestSecrets
{
    /// <summary>Stores <paramref name="value"/> under a name unique to the calling test (deleting one left by an earlier run, with force).</summary>
    public static Task<string> StoreAsync(HutchClient client, string value, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        StoreAsync(client, new CreateSecretRequest(Value: value), test);

    public static async Task<string> StoreAsync(HutchClient client, CreateSecretRequest request, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var name = "T_" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(test)))[..12];
        try
        {
            await client.DeleteSecretAsync(name, force: true);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.SecretNotFound)
        {
        }
        await client.CreateSecretAsync(request with { Name = name });
        return name;
    }

    /// <summary>A fresh value that no other test holds.</summary>
    public static string Value(string tag) => $"sk-{tag}-{Guid.NewGuid():N}";
}
