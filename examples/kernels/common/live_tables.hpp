#pragma once
// The kernel's own, live page tables as a kmem::PageTable: the loader built
// them, BootInfo names the root and the physmap reaches every table frame,
// so the same walk/translate/map code that built them can read them back
// (PageTable::adopt, which also checks that every entry is well formed).
// Tables for a mapping the kernel adds (see shutdown()) come from a small
// pool of frames in the kernel's .bss.

#include <cstddef>
#include <cstdint>
#include <span>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/page_table.hpp"
#include "kmem/riscv.hpp"
#include "loader_api/boot_info.hpp"

namespace kernel {

using PageFrame = std::uint64_t[512];

// The physical address behind a kernel virtual address (code or data of this
// kernel), from BootInfo's segment table; 0 when no segment holds it.
inline kmem::PhysicalAddress kernel_physical(const loader_api::BootInfo& info, const void* pointer) {
    const auto va = reinterpret_cast<std::uint64_t>(pointer);
    for (const loader_api::KernelSegment& segment : info.segments())
        if (va >= segment.virt.begin && va < segment.virt.end)
            return kmem::PhysicalAddress(segment.physical_begin + (va - segment.virt.begin));
    return kmem::PhysicalAddress();
}

class LiveTableMemory {
public:
    struct OutOfFrames {
        template <kmem::CharSink S>
        constexpr void format(S& sink) const {
            kmem::print(sink, "live tables: the kernel's frame pool is empty");
        }
    };

    // `pool`: page-aligned frames of this kernel's own .bss (their physical
    // addresses come from the segment table).
    LiveTableMemory(const loader_api::BootInfo& info, std::span<PageFrame> pool)
        : info_(info), pool_(pool) {}

    kmem::Expected<kmem::PhysicalAddress, OutOfFrames> allocate_zeroed_frame() {
        if (used_ == pool_.size()) return kmem::unexpected(OutOfFrames{});
        PageFrame& frame = pool_[used_++];
        for (std::uint64_t& entry : frame) entry = 0;
        const kmem::PhysicalAddress pa = kernel_physical(info_, &frame);
        if (pa.value() == 0) return kmem::unexpected(OutOfFrames{});
        return pa;
    }
    // Only a failed map() gives frames back, in reverse order of allocation.
    void free_frame(kmem::PhysicalAddress) {
        if (used_ > 0) --used_;
    }
    std::uint64_t* pointer(kmem::PhysicalAddress frame) {
        return reinterpret_cast<std::uint64_t*>(frame.value() + info_.physmap_offset);
    }

private:
    const loader_api::BootInfo& info_;
    std::span<PageFrame> pool_;
    std::size_t used_ = 0;
};
static_assert(kmem::PageTableMemory<LiveTableMemory>);

constexpr kmem::PagingModeId paging_mode_id(loader_api::PagingMode mode) {
    switch (mode) {
        case loader_api::PagingMode::Sv48: return kmem::PagingModeId::Sv48;
        case loader_api::PagingMode::Sv57: return kmem::PagingModeId::Sv57;
        case loader_api::PagingMode::Sv39: break;
    }
    return kmem::PagingModeId::Sv39;
}

// Calls f(table) with the kmem::PageTable<Mode, LiveTableMemory> of the mode
// in use, or returns adopt()'s complaint about the loader's tables. The
// caller has checked that paging_mode is valid (validate()).
template <class F>
kmem::Expected<void, kmem::PageTableError> with_live_table(const loader_api::BootInfo& info, std::span<PageFrame> pool,
                                                           F&& f) {
    LiveTableMemory memory(info, pool);
    return kmem::with_adopted_table(paging_mode_id(info.paging_mode), memory, kmem::PhysicalAddress(info.root_table), f);
}

}  // namespace kernel
