using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace Hutch.Daemon.Http;

/// <summary>
/// Kestrel's own pool hands its socket reads 4 KiB blocks, so a 1 GiB upload costs 262,144 recv
/// calls and most of a core (dotnet/aspnetcore#30545). This pool rents 64 KiB blocks (pooled
/// arrays), which cuts the calls sixteen-fold for file uploads while small requests still fit one block.
/// </summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();

    private sealed class LargeBlockMemoryPool : MemoryPool<byte>
    {
        private const int BlockSize = 64 << 10;

        public override int MaxBufferSize => int.MaxValue;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => new Block(Math.Max(minBufferSize, BlockSize));

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(int size) : IMemoryOwner<byte>
        {
            private byte[]? _array = ArrayPool<byte>.Shared.Rent(size);

            public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _array, null) is { } array)
                {
                    ArrayPool<byte>.Shared.Return(array);
                }
            }
        }
    }
}
