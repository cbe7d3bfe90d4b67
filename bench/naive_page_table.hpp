#pragma once
// The baseline for the page-table benchmark: what a first loader usually
// does. Every 4 KiB page is mapped on its own by a walk from the root that
// allocates missing tables on the way; no superpages, no reuse of the
// previous walk. Same PTE encoding and the same Memory as kmem::PageTable,
// so the difference measured is the algorithm alone.

#include <cstdint>

#include "kmem/address.hpp"
#include "kmem/page_table.hpp"
#include "kmem/riscv.hpp"

namespace bench {

template <kmem::PagingMode Mode, kmem::PageTableMemory Memory>
class NaivePageTable {
public:
    explicit NaivePageTable(Memory& memory) : memory_(memory) {}

    bool create() { return allocate(root_); }

    // Maps [va, va + size) page by page; false when a table frame is refused.
    bool map(kmem::VirtualAddress va, kmem::PhysicalAddress pa, std::uint64_t size, kmem::PageFlags flags) {
        for (std::uint64_t offset = 0; offset < size; offset += kmem::kPageSize)
            if (!map_page(va + offset, pa + offset, flags)) return false;
        return true;
    }

    bool map_page(kmem::VirtualAddress va, kmem::PhysicalAddress pa, kmem::PageFlags flags) {
        kmem::PhysicalAddress table = root_;
        for (unsigned level = Mode::kLevels - 1; level > 0; --level) {
            std::uint64_t& slot = memory_.pointer(table)[Mode::index(va, level)];
            if (!kmem::Pte::from_raw(slot).valid()) {
                kmem::PhysicalAddress child;
                if (!allocate(child)) return false;
                slot = kmem::Pte::table(child).raw();
            }
            table = kmem::Pte::from_raw(slot).address();
        }
        memory_.pointer(table)[Mode::index(va, 0)] = kmem::Pte::leaf(pa, flags).raw();
        ++leaves_;
        return true;
    }

    // The leaf entry for va, or an invalid entry; for checking the result.
    kmem::Pte lookup(kmem::VirtualAddress va) {
        kmem::PhysicalAddress table = root_;
        for (unsigned level = Mode::kLevels - 1;; --level) {
            const kmem::Pte entry = kmem::Pte::from_raw(memory_.pointer(table)[Mode::index(va, level)]);
            if (!entry.valid() || entry.is_leaf() || level == 0) return entry;
            table = entry.address();
        }
    }

    std::uint64_t table_frames() const { return tables_; }
    std::uint64_t leaves() const { return leaves_; }

private:
    bool allocate(kmem::PhysicalAddress& frame) {
        auto allocation = memory_.allocate_zeroed_frame();
        if (!allocation) return false;
        frame = *allocation;
        ++tables_;
        return true;
    }

    Memory& memory_;
    kmem::PhysicalAddress root_;
    std::uint64_t tables_ = 0;
    std::uint64_t leaves_ = 0;
};

}  // namespace bench
