#pragma once
// What every phase of the planner (plan/planner.hpp) shares: the sizes it
// works in, its error shorthand, what read_inputs found, and appending to
// the Plan's lists (a full list is a named CapacityExceeded, never a cut).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loader_api/elf.hpp"
#include "loader_api/plan/types.hpp"

namespace loader_api {

namespace plan_detail {

using kmem::PhysicalAddress;
using kmem::PhysicalRange;
using kmem::VirtualAddress;
using kmem::VirtualRange;

inline constexpr std::uint64_t k4K = kmem::kPageSize;
inline constexpr std::uint64_t k2M = std::uint64_t{2} << 20;
inline constexpr std::uint64_t k1G = std::uint64_t{1} << 30;
// The top page of the address space is never used (AddressRange cannot end at 2^64).
inline constexpr std::uint64_t kWindowEnd = ~std::uint64_t{0} - (k4K - 1);

template <class T>
using Result = kmem::Expected<T, PlanError>;

constexpr kmem::Unexpected<PlanError> fail(PlanErrorCode code, std::string_view what = {}) {
    return kmem::unexpected(PlanError(code, what));
}
template <class Payload>
constexpr kmem::Unexpected<PlanError> fail(PlanErrorCode code, std::string_view what, const Payload& payload) {
    return kmem::unexpected(PlanError(code, what, payload));
}
constexpr kmem::Unexpected<PlanError> capacity_exceeded(std::string_view list, std::uint64_t capacity) {
    return fail(PlanErrorCode::CapacityExceeded, list, ListCapacity{capacity});
}

// A callee's error passed on, out of line: a PlanError is 256 bytes, which
// KMEM_TRY copies twice inline at each use (issue 13). For the functions
// whose size counts; `if (auto r = f(); !r) return pass_on<T>(r.error());`.
template <class T = void>
[[gnu::noinline, gnu::cold]] constexpr Result<T> pass_on(const PlanError& error) {
    return kmem::unexpected(error);
}

// Every page the range touches; ranges here lie in RAM, far from 2^64.
constexpr PhysicalRange page_span(PhysicalRange range) {
    if (range.empty()) return {};
    const auto pages = range.pages();
    return {PhysicalAddress(pages.first), PhysicalAddress(pages.past_last)};
}
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

// Insertion sort: what it sorts is short or nearly sorted already (lowest-
// first allocations, device tree order), and std::sort would pull in
// __clzdi2 from libgcc, which the loader does not link.
template <class T, class Less>
constexpr void sort(T* first, T* last, Less less) {
    for (T* i = first; i != last; ++i) {
        // In place already (the usual case): no copies of a large T.
        if (i == first || !less(*i, *(i - 1))) continue;
        T value = *i;
        T* j = i;
        while (j != first && less(value, *(j - 1))) {
            *j = *(j - 1);
            --j;
        }
        *j = value;
    }
}

// For map_error: a reader's error (fdt::Error, ElfError, kmem::AllocError...)
// becomes the cause of a PlanError with `code`.
constexpr auto caused_by(PlanErrorCode code, std::string_view what = {}) {
    return [=](const auto& cause) { return PlanError(code, what, cause); };
}

// What read_inputs found, for the phases after it.
struct Inputs {
    ElfFile elf{};
    PhysicalRange device_tree{};
    PhysicalRange kernel_file{};
    PhysicalRange initrd{};       // empty when the initrd is the kernel file
    std::uint64_t ram_low = 0;    // lowest RAM address, aligned down to 1 GiB
    std::uint64_t key = 0;        // hash of all entropy
    std::uint32_t entropy_sources = 0;  // BootInfo::entropy_sources
    bool kaslr_wanted = false;    // by the kernel or the loader's default, before entropy is considered

    // Bytes whose source nobody names are mixed in but do not count.
    constexpr bool have_entropy() const { return entropy_sources != 0; }
};

inline void warn(BasicPlan& plan, WarningCode code, std::uint64_t value = 0, std::uint64_t other = 0,
                 std::string_view text = {}) {
    if (!plan.warnings.push({code, value, other, text})) ++plan.warnings_dropped;
}

inline Result<void> add_area(BasicPlan& plan, const VirtualArea& area) {
    if (!plan.areas.push(area)) return capacity_exceeded("virtual areas", plan.areas.capacity());
    return {};
}

inline Result<void> record(BasicPlan& plan, PhysicalRange range, MemoryRegionKind kind, AllocationOrigin origin,
                           std::string_view label, std::uint64_t index = kNoIndex) {
    if (!plan.allocations.push({range, kind, origin, label, index}))
        return capacity_exceeded("allocations", plan.allocations.capacity());
    return {};
}

// Frames from free RAM, lowest first, recorded in the allocation list.
inline Result<PhysicalRange> allocate(BasicPlan& plan, std::uint64_t size, std::uint64_t alignment, MemoryRegionKind kind,
                                      std::string_view label, std::uint64_t index) {
    const PhysicalRange block =
        KMEM_TRY(plan.workspace.frames.allocate_contiguous(size, alignment).map_error([&](const kmem::AllocError& cause) {
            return PlanError(cause.code == kmem::AllocErrorCode::OutOfMemory ? PlanErrorCode::OutOfMemory
                                                                             : PlanErrorCode::AllocatorCapacity,
                             label, cause);
        }));
    KMEM_TRY(record(plan, block, kind, AllocationOrigin::Planner, label, index));
    plan.stats.allocated_bytes += block.size();
    return block;
}

}  // namespace plan_detail

}  // namespace loader_api
