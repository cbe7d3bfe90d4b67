#pragma once
// The kernel's page tables: frames from the planner's allocator
// (TableMemory, recorded as PageTables allocations), the physmap, kernel
// pieces, stacks and (optionally) the loader identity-mapped, with the
// leaves counted for the plan's statistics.

#include <cstdint>
#include <utility>

#include "kmem/page_table.hpp"
#include "loader_api/plan/common.hpp"
#include "loader_api/plan/segments.hpp"

namespace loader_api {

namespace plan_detail {

using Frames = kmem::FrameAllocator<kPlanMaxFreeRanges, kPlanMaxUsedRanges>;

template <PhysicalMemory P>
class TableMemory {
public:
    TableMemory(Frames& frames, P& memory, BasicPlan& plan) : frames_(frames), memory_(memory), plan_(plan) {}

    kmem::Expected<PhysicalAddress, kmem::AllocError> allocate_zeroed_frame() {
        auto frame = frames_.allocate();
        if (!frame) {
            last_error_ = frame.error();
            return frame;
        }
        __builtin_memset(memory_.frame(*frame), 0, k4K);
        // Lowest-first allocation puts consecutive tables next to each
        // other: one entry in the list covers the run.
        const PhysicalRange range{*frame, *frame + k4K};
        auto& list = plan_.allocations;
        if (!list.empty() && list.back().kind == MemoryRegionKind::PageTables && list.back().range.end() == *frame) {
            list.back().range = {list.back().range.begin(), range.end()};
        } else if (!list.push({range, MemoryRegionKind::PageTables, AllocationOrigin::Planner, "page tables", kNoIndex})) {
            (void)frames_.release(range);
            capacity_hit_ = true;
            kmem::AllocError error{};
            error.code = kmem::AllocErrorCode::CapacityExceeded;
            error.range = range;
            error.capacity = list.capacity();
            last_error_ = error;
            return kmem::unexpected(error);
        }
        plan_.stats.allocated_bytes += k4K;
        return *frame;
    }

    // Only a failed map() frees tables, and the plan is abandoned then; the
    // allocation list is kept exact for the common case of the latest frame.
    void free_frame(PhysicalAddress frame) {
        (void)frames_.release({frame, frame + k4K});
        plan_.stats.allocated_bytes -= k4K;
        auto& list = plan_.allocations;
        if (!list.empty() && list.back().kind == MemoryRegionKind::PageTables && list.back().range.end() == frame + k4K) {
            list.back().range = {list.back().range.begin(), frame};
            if (list.back().range.empty()) list.pop();
        }
    }

    std::uint64_t* pointer(PhysicalAddress frame) { return memory_.frame(frame); }

    bool capacity_hit() const { return capacity_hit_; }
    const kmem::AllocError& last_error() const { return last_error_; }

private:
    Frames& frames_;
    P& memory_;
    BasicPlan& plan_;
    bool capacity_hit_ = false;
    kmem::AllocError last_error_{};
};

// Adds the leaves PageTable::map() makes for [va, va + size) -> pa to
// leaves[level], by its rule: at each step the largest page (up to
// kMaxLeafLevel) that both addresses are aligned to and the rest of the
// range holds. A few steps per leaf, where walking the finished tables
// takes a pass over every entry of every table (4096 entries for QEMU virt,
// more than building them cost).
constexpr void add_leaves(kmem::RuntimePagingMode mode, std::uint64_t va, std::uint64_t pa, std::uint64_t size,
                          std::uint64_t (&leaves)[5]) {
    using M = kmem::RuntimePagingMode;
    while (size != 0) {
        unsigned level = mode.max_leaf_level();
        while (level > 0 && ((va | pa) % M::page_size(level) != 0 || size < M::page_size(level))) --level;
        const std::uint64_t page = M::page_size(level);
        // The rule picks this size again until both addresses reach the next
        // size's alignment (together, or never if their offsets in it
        // differ) or the range runs short: counted as one run.
        std::uint64_t count = size / page;
        if (level < mode.max_leaf_level()) {
            const std::uint64_t larger = M::page_size(level + 1);
            const std::uint64_t to_aligned = (larger - va % larger) % larger / page;
            if (va % larger == pa % larger && to_aligned != 0 && to_aligned < count) count = to_aligned;
        }
        leaves[level] += count;
        va += count * page;
        pa += count * page;
        size -= count * page;
    }
}

// One builder for every mode (RuntimePagingMode): a PageTable per mode would
// put three copies of it in the loader.
template <PhysicalMemory P>
Result<void> build_tables(BasicPlan& plan, P& memory, const PlanOptions& options, const KernelImage& image) {
    const kmem::RuntimePagingMode mode(plan.mode);
    TableMemory<P> tables(plan.workspace.frames, memory, plan);
    // No frame for a table: the allocator's own error says why.
    auto out_of_frames = [&] {
        if (tables.capacity_hit())
            return PlanError(PlanErrorCode::CapacityExceeded, "allocations", ListCapacity{plan.allocations.capacity()});
        return PlanError(PlanErrorCode::OutOfMemory, "page tables", tables.last_error());
    };
    auto table = KMEM_TRY(kmem::PageTable<kmem::RuntimePagingMode, TableMemory<P>>::create(tables, mode).map_error(
        [&](const kmem::PageTableError&) { return out_of_frames(); }));
    auto map = [&](VirtualAddress va, PhysicalAddress pa, std::uint64_t size, kmem::PageFlags flags) -> Result<void> {
        KMEM_TRY(table.map(va, pa, size, flags).map_error([&](const kmem::PageTableError& cause) {
            // Out of frames: the allocator's error says more than the builder's.
            if (cause.code == kmem::PageTableErrorCode::OutOfFrames) return out_of_frames();
            return PlanError(PlanErrorCode::PageTable, {}, cause);
        }));
        add_leaves(mode, va.value(), pa.value(), size, plan.stats.leaves);
        return {};
    };
    const std::uint64_t offset = plan.physmap_offset;
    for (const PhysicalRange range : plan.workspace.ram)
        KMEM_TRY(map(VirtualAddress(range.begin().value() + offset), range.begin(), range.size(),
                     kmem::PageFlags::read_write()));
    const std::uint64_t slide = plan.kaslr_slide;
    for (std::size_t i = 0; i < image.piece_count; ++i) {
        const KernelPiece& piece = image.pieces[i];
        KMEM_TRY(map(VirtualAddress(piece.link_begin + slide), piece.frames, piece.link_end - piece.link_begin,
                     piece.flags));
    }
    for (const HartPlan& hart : plan.harts) {
        if (hart.state != HartState::Started) continue;
        KMEM_TRY(map(hart.stack.begin(), hart.stack_frames.begin(), hart.stack.size(), kmem::PageFlags::read_write()));
    }
    if (options.identity_map_loader) {
        const PhysicalRange text = page_span(options.loader_text);
        const PhysicalRange data = page_span(options.loader_data);
        kmem::PageFlags text_flags = kmem::PageFlags::read_execute();
        if (options.loader_image_rwx) text_flags = {.read = true, .write = true, .execute = true, .allow_write_execute = true};
        if (!text.empty()) KMEM_TRY(map(VirtualAddress(text.begin().value()), text.begin(), text.size(), text_flags));
        if (!data.empty())
            KMEM_TRY(map(VirtualAddress(data.begin().value()), data.begin(), data.size(), kmem::PageFlags::read_write()));
    }
    plan.root = table.root();
    plan.satp = table.satp();
    plan.stats.table_frames = table.table_frames();
    return {};
}

}  // namespace plan_detail

}  // namespace loader_api
