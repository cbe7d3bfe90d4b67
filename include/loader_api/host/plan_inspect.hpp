#pragma once
// Host only: looking into a finished Plan's page tables through a memory
// policy (e.g. SimulatedMemory): every leaf, the minimum table count for
// those leaves (kmem::minimum_table_frames), translations.

#include <cstdint>
#include <vector>

#include "kmem/page_table.hpp"
#include "loader_api/plan.hpp"

namespace loader_api::host {

// kmem::PageTable cannot adopt an existing root (it only create()s one),
// so the walk below reads the entries itself; they are plain RISC-V tables.
struct PlanLeaf {
    kmem::VirtualAddress va;
    kmem::PhysicalAddress pa;
    std::uint64_t size = 0;
    unsigned level = 0;
    kmem::Pte pte;
};

// Every leaf of the plan's tables in ascending va order, by walking the
// entries directly (the tables are plain RISC-V tables).
template <PhysicalMemory P>
std::vector<PlanLeaf> collect_leaves(const Plan& plan, P& memory) {
    std::vector<PlanLeaf> leaves;
    kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) {
        auto walk = [&](auto& self, kmem::PhysicalAddress table, unsigned level, std::uint64_t base) -> void {
            const std::uint64_t* entries = memory.frame(table);
            for (unsigned i = 0; i < M::kEntries; ++i) {
                const kmem::Pte pte = kmem::Pte::from_raw(entries[i]);
                if (!pte.valid()) continue;
                std::uint64_t va = base + (std::uint64_t{i} << M::page_shift(level));
                if (level == M::kLevels - 1 && i >= M::kEntries / 2) va |= ~std::uint64_t{0} << (M::kVaBits - 1);
                if (pte.is_leaf()) {
                    leaves.push_back({kmem::VirtualAddress(va), pte.address(), M::page_size(level), level, pte});
                } else {
                    KMEM_ASSERT(level > 0);
                    self(self, pte.address(), level - 1, va);
                }
            }
        };
        walk(walk, plan.root, M::kLevels - 1, 0);
    });
    return leaves;
}

// Every table frame reachable from the root, root included.
template <PhysicalMemory P>
std::vector<kmem::PhysicalAddress> collect_tables(const Plan& plan, P& memory) {
    std::vector<kmem::PhysicalAddress> tables;
    kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) {
        auto walk = [&](auto& self, kmem::PhysicalAddress table, unsigned level) -> void {
            tables.push_back(table);
            const std::uint64_t* entries = memory.frame(table);
            for (unsigned i = 0; i < M::kEntries; ++i) {
                const kmem::Pte pte = kmem::Pte::from_raw(entries[i]);
                if (pte.is_table() && level > 0) self(self, pte.address(), level - 1);
            }
        };
        walk(walk, plan.root, M::kLevels - 1);
    });
    return tables;
}

// The leaf covering `va`, or nullptr (leaves sorted by va, as collected).
inline const PlanLeaf* find_leaf(const std::vector<PlanLeaf>& leaves, kmem::VirtualAddress va) {
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
std::uint64_t minimum_table_frames(const Plan& plan, P& memory) {
    const auto leaves = collect_leaves(plan, memory);
    return kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) {
        return kmem::minimum_table_frames<M>(leaves);
    });
}

}  // namespace loader_api::host
