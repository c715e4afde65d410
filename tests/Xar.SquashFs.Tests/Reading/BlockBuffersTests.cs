using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>The reader's block buffers: new ones arrive with their pages in memory, returned ones are reused.</summary>
public class BlockBuffersTests
{
    [Fact]
    public void A_new_buffer_has_its_pages_in_memory_before_anything_writes_it()
    {
        byte[] buffer = new BlockBuffers(1 << 20).Rent();

        buffer.Should().HaveCount(1 << 20);
        var (resident, pages) = Residency(buffer);
        resident.Should().Be(pages, "the buffer's pages were populated in one call, not left to fault in one by one");
    }

    [Fact]
    public void A_returned_buffer_is_rented_again()
    {
        var buffers = new BlockBuffers(128 << 10);
        byte[] first = buffers.Rent();

        buffers.Return(first);

        buffers.Rent().Should().BeSameAs(first);
        buffers.Rent().Should().NotBeSameAs(first);
    }

    /// <summary>How many of the pages lying wholly inside the array (the ones populated) are in memory, and how many there are.</summary>
    private static unsafe (int Resident, int Pages) Residency(byte[] buffer)
    {
        nuint pageSize = (nuint)Environment.SystemPageSize;
        fixed (byte* start = buffer)
        {
            nuint first = ((nuint)start + pageSize - 1) & ~(pageSize - 1);
            nuint end = ((nuint)start + (nuint)buffer.Length) & ~(pageSize - 1);
            var residency = new byte[(int)((end - first) / pageSize)];
            fixed (byte* vector = residency)
            {
                LibC.mincore((void*)first, end - first, vector).Should().Be(0, LibC.ErrorText(LibC.LastError));
            }
            return (residency.Count(r => (r & 1) != 0), residency.Length);
        }
    }
}
