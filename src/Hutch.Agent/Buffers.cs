using Hutch.Protocol.Agent;

namespace Hutch.Agent;

/// <summary>
/// Output and stdin buffers: frame header room plus one 64 KiB chunk, on the pinned object heap.
/// A buffer is held only between a read and its send (or for one stdin write), so 100 idle
/// commands hold none. Pinned-heap arrays matter because a buffer may sit in a blocking syscall
/// (a send to a slow daemon, a write to a command that does not read): an ordinary array pinned
/// there holds a whole gen0 region of garbage around it, which a collection cannot give back.
/// </summary>
internal static class Buffers
{
    public const int Size = FrameCodec.HeaderSize + Exec.ChunkSize;
    private const int MaxFree = 8;

    private static readonly Stack<byte[]> Free = new();

    public static byte[] Rent()
    {
        lock (Free)
        {
            if (Free.TryPop(out var buffer))
            {
                return buffer;
            }
        }
        return GC.AllocateUninitializedArray<byte>(Size, pinned: true);
    }

    public static void Return(byte[] buffer)
    {
        lock (Free)
        {
            if (Free.Count < MaxFree)
            {
                Free.Push(buffer);
            }
        }
    }
}
