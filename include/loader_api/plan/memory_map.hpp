#pragma once
// The BootInfo memory map: RAM the physmap reaches (Usable) and RAM beyond
// it (UsableUnmapped), with every allocation, reservation and input cut out
// of it by priority, merged into address-ordered regions.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loader_api/plan/common.hpp"

namespace loader_api {

namespace plan_detail {

// RAM from `limit` on is beyond the physmap: the planner places nothing
// there, the memory map calls its free pages UsableUnmapped, and every input
// must lie below it (the kernel reads them through the physmap).
inline Result<void> leave_unmapped(Plan& plan, const PlanOptions& options, const Inputs& in, PhysicalAddress limit,
                                   kmem::PagingModeId mode) {
    auto& ram = plan.workspace.ram;
    auto& unmapped = plan.workspace.unmapped_ram;
    unmapped.clear();
    const PhysicalRange beyond{limit, PhysicalAddress(kmem::align_down(~std::uint64_t{0}, k4K))};
    std::uint64_t bytes = 0;
    for (const PhysicalRange range : ram) {
        const PhysicalRange part = range.intersection(beyond);
        if (part.empty()) continue;
        if (!unmapped.insert(part)) return capacity_exceeded("RAM ranges", kPlanMaxRamRanges);
        bytes += part.size();
    }
    for (const PhysicalRange part : unmapped) (void)ram.remove(part);
    struct Input {
        PhysicalRange range;
        std::string_view what;
    };
    for (const Input& input : {Input{in.device_tree, "device tree"}, Input{in.kernel_file, "kernel file"},
                               Input{in.initrd, "initrd"}, Input{options.loader_text, "loader text"},
                               Input{options.loader_data, "loader data"}}) {
        if (input.range.empty() || input.range.end() <= limit) continue;
        return fail(PlanErrorCode::InputBeyondPhysmap, input.what, PhysicalPlace{input.range, mode});
    }
    warn(plan, WarningCode::RamBeyondPhysmap, bytes, limit.value(), kmem::name(mode));
    return {};
}

// Orders allocations for the memory map: inputs the kernel must keep win
// over reserved memory, which wins over what the loader leaves behind.
constexpr int region_priority(const Allocation& allocation) {
    if (allocation.origin == AllocationOrigin::Planner) return 5;
    if (allocation.origin == AllocationOrigin::Firmware) return 3;
    switch (allocation.kind) {
        case MemoryRegionKind::Kernel: return 0;
        case MemoryRegionKind::Fdt: return 1;
        case MemoryRegionKind::Initrd: return 2;
        default: return 4;
    }
}

// Fills plan.regions from plan.allocations.
inline Result<void> compute_regions(Plan& plan) {
    auto& pieces = plan.workspace.pieces;
    auto& claimed = plan.workspace.claimed;
    const auto& ram = plan.workspace.ram;
    pieces.clear();
    claimed.clear();
    const auto& unmapped = plan.workspace.unmapped_ram;
    auto add_piece = [&](PhysicalRange range, MemoryRegionKind kind) -> Result<void> {
        // Clip to RAM: reserved ranges may describe device memory too.
        for (const auto* members : {&ram, &unmapped}) {
            for (const PhysicalRange member : *members) {
                const PhysicalRange part = member.intersection(range);
                if (part.empty()) continue;
                if (!pieces.push({PhysRange::from(part), kind, 0}))
                    return capacity_exceeded("memory regions", kPlanMaxRegions);
            }
        }
        return {};
    };
    for (int priority = 0; priority <= 5; ++priority) {
        for (const Allocation& allocation : plan.allocations) {
            if (region_priority(allocation) != priority) continue;
            const PhysicalRange range = page_span(allocation.range);
            if (range.empty()) continue;
            if (priority == 5) {
                // The allocator never hands out anything claimed before.
                if (!pieces.push({PhysRange::from(range), allocation.kind, 0}))
                    return capacity_exceeded("memory regions", kPlanMaxRegions);
                continue;
            }
            std::uint64_t cursor = range.begin().value();
            for (const PhysicalRange taken : claimed) {
                if (taken.end().value() <= cursor) continue;
                if (taken.begin() >= range.end()) break;
                if (taken.begin().value() > cursor)
                    KMEM_TRY(add_piece({PhysicalAddress(cursor), taken.begin()}, allocation.kind));
                cursor = taken.end().value();
            }
            if (cursor < range.end().value()) KMEM_TRY(add_piece({PhysicalAddress(cursor), range.end()}, allocation.kind));
            if (!claimed.insert(range))
                return capacity_exceeded("claimed ranges", kPlanMaxAllocations);
        }
    }
    plan_detail::sort(pieces.begin(), pieces.end(),
              [](const MemoryRegion& a, const MemoryRegion& b) { return a.range.begin < b.range.begin; });
    auto& regions = plan.regions;
    regions.clear();
    auto emit = [&](std::uint64_t begin, std::uint64_t end, MemoryRegionKind kind) -> Result<void> {
        if (begin >= end) return {};
        if (!regions.empty() && regions.back().range.end == begin && regions.back().kind == kind) {
            regions.back().range.end = end;
            return {};
        }
        if (!regions.push({{begin, end}, kind, 0}))
            return capacity_exceeded("memory regions", kPlanMaxRegions);
        return {};
    };
    // The physmap's RAM lies below the unmapped RAM (leave_unmapped), so
    // walking one set and then the other keeps address order.
    std::size_t next = 0;
    for (const auto* members : {&ram, &unmapped}) {
        const MemoryRegionKind free = members == &ram ? MemoryRegionKind::Usable : MemoryRegionKind::UsableUnmapped;
        for (const PhysicalRange member : *members) {
            std::uint64_t cursor = member.begin().value();
            while (next < pieces.size() && pieces[next].range.begin < member.end().value()) {
                const MemoryRegion& piece = pieces[next++];
                KMEM_TRY(emit(cursor, piece.range.begin, free));
                KMEM_TRY(emit(piece.range.begin, piece.range.end, piece.kind));
                cursor = piece.range.end;
            }
            KMEM_TRY(emit(cursor, member.end().value(), free));
        }
    }
    return {};
}

}  // namespace plan_detail

}  // namespace loader_api
