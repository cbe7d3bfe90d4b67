#pragma once
// The kernel's virtual layout (KASLR): where the physmap, kernel and stack
// blocks go in the higher half of a paging mode, by plan_layout(), a
// constexpr function of a LayoutRequest, so that the rule can be checked in
// constant evaluation. The rule itself is at the top of plan/planner.hpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loader_api/plan/common.hpp"
#include "loader_api/plan/random.hpp"

namespace loader_api {

namespace plan_detail {

using VirtualSet = kmem::RangeSet<VirtualAddress, 8>;

// Valid starts of a block as inclusive ranges [low, high], both multiples of
// the granularity, in ascending order.
struct Candidates {
    struct Span {
        std::uint64_t low = 0;
        std::uint64_t high = 0;
    };
    std::array<Span, 2 * 8> spans{};
    std::size_t count = 0;
    std::uint64_t positions = 0;
    std::uint64_t granularity = 0;

    constexpr void add(std::uint64_t low, std::uint64_t high) {
        KMEM_ASSERT(count < spans.size() && low <= high);
        spans[count++] = {low, high};
        positions += (high - low) / granularity + 1;
    }
};

// Can [begin, end) hold `size` bytes starting at a 2 MiB boundary?
constexpr bool hosts(std::uint64_t begin, std::uint64_t end, std::uint64_t size) {
    const std::uint64_t start = round_up(begin, k2M);
    return start >= begin && start <= end && end - start >= size;
}

// Where a block of `size` bytes (a multiple of 2 MiB) may start: inside a
// free range, at a multiple of `granularity`, and leaving some free range
// that can still hold `reserve` bytes (the blocks placed after it).
constexpr Candidates candidates(const VirtualSet& free, std::uint64_t size, std::uint64_t granularity,
                                std::uint64_t reserve) {
    Candidates result;
    result.granularity = granularity;
    for (std::size_t i = 0; i < free.size(); ++i) {
        const std::uint64_t a = free[i].begin().value();
        const std::uint64_t b = free[i].end().value();
        if (b - a < size) continue;
        const std::uint64_t first = round_up(a, granularity);
        if (first < a || first > b - size) continue;
        const std::uint64_t last = kmem::align_down(b - size, granularity);
        bool elsewhere = reserve == 0;
        for (std::size_t j = 0; j < free.size() && !elsewhere; ++j)
            elsewhere = j != i && hosts(free[j].begin().value(), free[j].end().value(), reserve);
        if (elsewhere) {
            result.add(first, last);
            continue;
        }
        // The piece below the block holds the reserve from this start on...
        bool left_ok = false;
        std::uint64_t left_low = 0;
        const std::uint64_t a2 = round_up(a, k2M);
        if (a2 >= a && a2 <= ~std::uint64_t{0} - reserve) {
            const std::uint64_t low = round_up(a2 + reserve, granularity);
            if (low >= a2 + reserve && low <= last) {
                left_ok = true;
                left_low = low < first ? first : low;
            }
        }
        // ...and the piece above it (the block's end is 2 MiB aligned) up to this one.
        bool right_ok = false;
        std::uint64_t right_high = 0;
        if (b - a >= size + reserve && b - size - reserve >= first) {
            right_ok = true;
            right_high = kmem::align_down(b - size - reserve, granularity);
            if (right_high > last) right_high = last;
        }
        if (right_ok && left_ok && right_high + granularity >= left_low) {
            result.add(first, last);
        } else {
            if (right_ok) result.add(first, right_high);
            if (left_ok) result.add(left_low, last);
        }
    }
    return result;
}

enum class Pick : std::uint8_t { Lowest, Highest, Random };

constexpr std::uint64_t pick(const Candidates& candidates, Pick how, plan_random::SplitMix64& rng) {
    KMEM_ASSERT(candidates.positions > 0);
    if (how == Pick::Lowest) return candidates.spans[0].low;
    if (how == Pick::Highest) return candidates.spans[candidates.count - 1].high;
    std::uint64_t index = rng.below(candidates.positions);
    for (std::size_t i = 0; i < candidates.count; ++i) {
        const auto& span = candidates.spans[i];
        const std::uint64_t here = (span.high - span.low) / candidates.granularity + 1;
        if (index < here) return span.low + index * candidates.granularity;
        index -= here;
    }
    KMEM_ASSERT(false);
    return 0;
}

}  // namespace plan_detail

// What plan_layout places, in one paging mode.
struct LayoutRequest {
    unsigned va_bits = 39;
    std::uint64_t physmap_size = 0;     // multiple of 1 GiB
    std::uint64_t kernel_link = 0;      // aligned down to kernel_granularity
    std::uint64_t kernel_size = 0;      // multiple of kernel_granularity
    std::uint64_t kernel_granularity = plan_detail::k2M;
    bool kernel_movable = false;        // PIE
    std::uint64_t stacks_size = 0;      // multiple of 2 MiB
    bool randomise = false;             // physmap and stacks (and the kernel if movable)
    std::uint64_t key = 0;
};

struct VirtualLayout {
    Placement physmap, kernel, stacks;
};

// RamTooLargeForPhysmap or KernelDoesNotFit (naming `mode`) when the blocks
// cannot all be placed.
constexpr kmem::Expected<VirtualLayout, PlanError> plan_layout(const LayoutRequest& request, kmem::PagingModeId mode) {
    using namespace plan_detail;
    const std::uint64_t begin = kmem::upper_half_begin(request.va_bits);
    const VirtualRange window{VirtualAddress(begin), VirtualAddress(kWindowEnd)};
    if (request.physmap_size > window.size()) {
        return fail(PlanErrorCode::RamTooLargeForPhysmap, {}, PhysmapShortfall{request.physmap_size, window.size(), mode});
    }
    auto no_fit = [&](std::string_view why) {
        const VirtualRange kernel{VirtualAddress(request.kernel_link),
                                  VirtualAddress(request.kernel_link + request.kernel_size)};
        return fail(PlanErrorCode::KernelDoesNotFit, why, KernelPlace{kernel, mode});
    };
    VirtualSet free;
    (void)free.insert(window);
    VirtualLayout layout;
    plan_random::SplitMix64 physmap_rng = plan_random::stream(request.key, plan_random::Stream::Physmap);
    plan_random::SplitMix64 kernel_rng = plan_random::stream(request.key, plan_random::Stream::Kernel);
    plan_random::SplitMix64 stacks_rng = plan_random::stream(request.key, plan_random::Stream::Stacks);

    // A kernel that cannot move, or may stay where it was linked, goes first.
    const bool link_in_window = request.kernel_link >= begin && request.kernel_link < kWindowEnd &&
                                kWindowEnd - request.kernel_link >= request.kernel_size;
    const bool kernel_fixed = !request.kernel_movable || (!request.randomise && link_in_window);
    if (kernel_fixed) {
        if (!link_in_window) return no_fit("its link address is not in the higher half");
        const VirtualRange block{VirtualAddress(request.kernel_link), VirtualAddress(request.kernel_link + request.kernel_size)};
        (void)free.remove(block);
        layout.kernel = {block, request.kernel_granularity, 1, false};
    }
    const std::uint64_t kernel_reserve =
        kernel_fixed ? 0 : request.kernel_size + (request.kernel_granularity - k2M);

    const Candidates physmap = candidates(free, request.physmap_size, k1G, kernel_reserve + request.stacks_size);
    if (physmap.positions == 0) return no_fit("no room beside the physmap");
    const std::uint64_t physmap_at =
        pick(physmap, request.randomise ? Pick::Random : Pick::Lowest, physmap_rng);
    layout.physmap = {{VirtualAddress(physmap_at), VirtualAddress(physmap_at + request.physmap_size)},
                      k1G, physmap.positions, request.randomise};
    (void)free.remove(layout.physmap.block);

    if (!kernel_fixed) {
        const Candidates kernel = candidates(free, request.kernel_size, request.kernel_granularity, request.stacks_size);
        if (kernel.positions == 0) return no_fit("no room in the higher half");
        const std::uint64_t at = pick(kernel, request.randomise ? Pick::Random : Pick::Highest, kernel_rng);
        layout.kernel = {{VirtualAddress(at), VirtualAddress(at + request.kernel_size)},
                         request.kernel_granularity, kernel.positions, request.randomise};
        (void)free.remove(layout.kernel.block);
    }

    const Candidates stacks = candidates(free, request.stacks_size, k2M, 0);
    if (stacks.positions == 0) return no_fit("no room for the stacks");
    const std::uint64_t stacks_at = pick(stacks, request.randomise ? Pick::Random : Pick::Highest, stacks_rng);
    layout.stacks = {{VirtualAddress(stacks_at), VirtualAddress(stacks_at + request.stacks_size)}, k2M,
                     stacks.positions, request.randomise};
    return layout;
}

}  // namespace loader_api
