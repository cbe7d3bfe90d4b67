#pragma once
// Host only: looking into a finished Plan's page tables through a memory
// policy (e.g. SimulatedMemory): every leaf, the minimum table count for
// those leaves (kmem::minimum_table_frames), translations.

#include <cstdint>
#include <vector>

#include "kmem/page_table.hpp"
#include "loader_api/plan.hpp"

namespace loader_api::host {

// A read-only kmem::PageTableMemory over a host memory policy: enough to
// adopt() a plan's tables and walk or translate them; mapping anything new
// fails for want of frames.
template <PhysicalMemory P>
class InspectMemory {
public:
    struct NoFrames {};
    explicit InspectMemory(P& memory) : memory_(memory) {}
    kmem::Expected<kmem::PhysicalAddress, NoFrames> allocate_zeroed_frame() { return kmem::unexpected(NoFrames{}); }
    void free_frame(kmem::PhysicalAddress) {}
    std::uint64_t* pointer(kmem::PhysicalAddress frame) { return memory_.frame(frame); }

private:
    P& memory_;
};

// Calls f(table) with the plan's tables adopted as a
// kmem::PageTable<Mode, InspectMemory<P>>; adopt()'s error when they are
// malformed.
template <PhysicalMemory P, class F>
kmem::Expected<void, kmem::PageTableError> with_plan_table(const BasicPlan& plan, P& memory, F&& f) {
    InspectMemory<P> inspect(memory);
    return kmem::with_adopted_table(plan.mode, inspect, plan.root, f);
}

// Every leaf of the plan's tables in ascending va order (none when the
// tables are malformed: with_plan_table names the problem).
template <PhysicalMemory P>
std::vector<kmem::Leaf> collect_leaves(const BasicPlan& plan, P& memory) {
    std::vector<kmem::Leaf> leaves;
    (void)with_plan_table(plan, memory, [&](const auto& table) {
        table.for_each_leaf([&](const kmem::Leaf& leaf) { leaves.push_back(leaf); });
    });
    return leaves;
}

// Every table frame reachable from the root, root included.
template <PhysicalMemory P>
std::vector<kmem::PhysicalAddress> collect_tables(const BasicPlan& plan, P& memory) {
    std::vector<kmem::PhysicalAddress> tables;
    (void)with_plan_table(plan, memory, [&](const auto& table) {
        table.for_each_table([&](kmem::PhysicalAddress frame, unsigned) { tables.push_back(frame); });
    });
    return tables;
}

// The leaf covering `va`, or nullptr (leaves sorted by va, as collected).
inline const kmem::Leaf* find_leaf(const std::vector<kmem::Leaf>& leaves, kmem::VirtualAddress va) {
    std::size_t low = 0, high = leaves.size();
    while (low < high) {
        const std::size_t middle = low + (high - low) / 2;
        if (leaves[middle].va.value() + (leaves[middle].size - 1) < va.value()) low = middle + 1;
        else high = middle;
    }
    if (low == leaves.size() || leaves[low].va > va) return nullptr;
    return &leaves[low];
}

template <PhysicalMemory P>
std::uint64_t minimum_table_frames(const BasicPlan& plan, P& memory) {
    const auto leaves = collect_leaves(plan, memory);
    return kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) {
        return kmem::minimum_table_frames<M>(leaves);
    });
}

}  // namespace loader_api::host
