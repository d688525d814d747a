using Hutch.Client;

/// <summary>What every bench does to reach the `hutch serve` it started: read its key, wait until it answers.</summary>
internal static class BenchDaemon
{
    public static async Task<string> ApiKeyAsync(string dataDir)
    {
        var file = Path.Join(dataDir, "api-key");
        for (var i = 0; i < 100 && !File.Exists(file); i++)
        {
            await Task.Delay(100);
        }
        return (await File.ReadAllTextAsync(file)).Trim();
    }

    public static async Task WaitForHealthAsync(HutchClient client)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                await client.HealthAsync();
                return;
            }
            catch (HutchApiException) when (i < 100)
            {
                await Task.Delay(100);
            }
        }
    }
}
