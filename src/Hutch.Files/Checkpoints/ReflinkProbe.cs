using System.Security.Cryptography;
using Hutch.Linux;

namespace Hutch.Files.Checkpoints;

/// <summary>Finds out whether a directory's file system can reflink (FICLONE), by trying it on two scratch files.</summary>
public static class ReflinkProbe
{
    public static bool Works(string directory)
    {
        var name = Path.Join(directory, $".hutch-reflink-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        try
        {
            using var source = File.OpenHandle(name + ".a", FileMode.CreateNew, FileAccess.ReadWrite);
            RandomAccess.Write(source, new byte[4096], 0);
            using var target = File.OpenHandle(name + ".b", FileMode.CreateNew, FileAccess.ReadWrite);
            return At.CloneOrCopy(source, target);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        finally
        {
            File.Delete(name + ".a");
            File.Delete(name + ".b");
        }
    }
}
