#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kmem/frame_allocator.hpp"
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

using loader_api::host::text_of;

constexpr std::uint64_t kTop = ~std::uint64_t{0};

constexpr PhysicalRange pr(std::uint64_t begin, std::uint64_t end) { return {PhysicalAddress(begin), PhysicalAddress(end)}; }

template <class Set>
std::vector<PhysicalRange> ranges_of(const Set& set) {
    return {set.begin(), set.end()};
}

template <std::size_t N, std::size_t UsedN = N>
FrameAllocator<N, UsedN> make(std::vector<PhysicalRange> free) {
    auto allocator = FrameAllocator<N, UsedN>::create(free);
    REQUIRE(allocator);
    return *allocator;
}

// --- compile-time use --------------------------------------------------------

constexpr bool allocates_at_compile_time() {
    // Unaligned ends are trimmed to whole frames: [0x8000'1000, 0x8040'0000).
    const PhysicalRange ram[] = {pr(0x8000'0800, 0x8010'0000), pr(0x8010'0000, 0x8040'0fff)};
    auto allocator = FrameAllocator<4>::create(ram);
    if (!allocator) return false;
    auto first = allocator->allocate();
    auto second = allocator->allocate();
    auto big = allocator->allocate_contiguous(2_MiB, 2_MiB);
    if (!first || !second || !big) return false;
    return *first == 0x8000'1000_pa && *second == 0x8000'2000_pa && *big == pr(0x8020'0000, 0x8040'0000) &&
           allocator->used_ranges().size() == 2 && allocator->free_ranges().size() == 1 &&
           allocator->free_ranges()[0] == pr(0x8000'3000, 0x8020'0000) &&
           allocator->used_bytes() == 2_MiB + 8_KiB && allocator->free_bytes() == 2_MiB - 12_KiB;
}
static_assert(allocates_at_compile_time());

constexpr bool runs_out_at_compile_time() {
    FrameAllocator<2> allocator;
    if (!allocator.add_free(pr(0x1000, 0x3000))) return false;
    for (int i = 0; i < 2; ++i)
        if (!allocator.allocate()) return false;
    auto none = allocator.allocate();
    if (none || none.error().code != AllocErrorCode::OutOfMemory) return false;
    if (!allocator.release(pr(0x1000, 0x2000))) return false;
    auto again = allocator.allocate();
    return again && *again == 0x1000_pa && allocator.free_bytes() == 0;
}
static_assert(runs_out_at_compile_time());

}  // namespace

// --- unit tests ----------------------------------------------------------------

TEST_CASE("create trims to whole frames and merges") {
    auto allocator = make<4>({pr(0x1001, 0x5fff), pr(0x5000, 0x8000), pr(0xa800, 0xb7ff), pr(0x2'0000, 0x2'0fff)});
    // [0xa800, 0xb7ff) and [0x2'0000, 0x2'0fff) hold no whole frame.
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(0x2000, 0x8000)});
    CHECK(allocator.free_bytes() == 0x6000);
    CHECK(allocator.used_bytes() == 0);
    CHECK(allocator.used_ranges().empty());
}

TEST_CASE("create from a RangeSet") {
    RangeSet<PhysicalAddress, 8> ram;
    REQUIRE(ram.insert(pr(0x8000'0000, 0x8800'0000)));
    REQUIRE(ram.remove(pr(0x8000'0000, 0x8020'0000)));  // firmware
    auto allocator = FrameAllocator<4>::create(ram);
    REQUIRE(allocator);
    CHECK(ranges_of(allocator->free_ranges()) == std::vector<PhysicalRange>{pr(0x8020'0000, 0x8800'0000)});
}

TEST_CASE("create with more ranges than capacity fails") {
    auto allocator = FrameAllocator<2>::create(std::vector<PhysicalRange>{pr(0x1000, 0x2000), pr(0x3000, 0x4000), pr(0x5000, 0x6000)});
    REQUIRE_FALSE(allocator);
    CHECK(allocator.error().code == AllocErrorCode::CapacityExceeded);
    CHECK(allocator.error().range == pr(0x5000, 0x6000));
    CHECK(allocator.error().capacity == 2);
}

TEST_CASE("allocate hands out the lowest frames, one at a time") {
    auto allocator = make<4>({pr(0x8000'0000, 0x8000'4000), pr(0x9000'0000, 0x9000'2000)});
    std::vector<std::uint64_t> frames;
    for (int i = 0; i < 6; ++i) {
        auto frame = allocator.allocate();
        REQUIRE(frame);
        frames.push_back(frame->value());
    }
    CHECK(frames == std::vector<std::uint64_t>{0x8000'0000, 0x8000'1000, 0x8000'2000, 0x8000'3000, 0x9000'0000,
                                                0x9000'1000});
    CHECK(ranges_of(allocator.used_ranges()) ==
          std::vector<PhysicalRange>{pr(0x8000'0000, 0x8000'4000), pr(0x9000'0000, 0x9000'2000)});
    CHECK(allocator.free_ranges().empty());
    CHECK(allocator.used_bytes() == 6 * 4_KiB);

    auto none = allocator.allocate();
    REQUIRE_FALSE(none);
    CHECK(none.error().code == AllocErrorCode::OutOfMemory);
    CHECK(none.error().size == 4_KiB);
    CHECK(none.error().alignment == 4_KiB);
    CHECK(none.error().largest_free.empty());
}

TEST_CASE("allocate_contiguous aligns and rounds") {
    auto allocator = make<4>({pr(0x8020'3000, 0x8100'0000)});
    SUBCASE("2 MiB aligned block leaves the padding free") {
        auto block = allocator.allocate_contiguous(2_MiB, 2_MiB);
        REQUIRE(block);
        CHECK(*block == pr(0x8040'0000, 0x8060'0000));
        CHECK(ranges_of(allocator.free_ranges()) ==
              std::vector<PhysicalRange>{pr(0x8020'3000, 0x8040'0000), pr(0x8060'0000, 0x8100'0000)});
        // The padding is handed out next.
        CHECK(*allocator.allocate() == 0x8020'3000_pa);
    }
    SUBCASE("sizes round up to frames, alignments below a frame up to a frame") {
        auto block = allocator.allocate_contiguous(5000, 8);
        REQUIRE(block);
        CHECK(*block == pr(0x8020'3000, 0x8020'5000));
        auto byte = allocator.allocate_contiguous(1, 1);
        REQUIRE(byte);
        CHECK(*byte == pr(0x8020'5000, 0x8020'6000));
        CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x8020'3000, 0x8020'6000)});
    }
    SUBCASE("bad requests") {
        auto zero = allocator.allocate_contiguous(0, 4096);
        REQUIRE_FALSE(zero);
        CHECK(zero.error().code == AllocErrorCode::InvalidSize);
        auto huge = allocator.allocate_contiguous(kTop, 4096);
        REQUIRE_FALSE(huge);
        CHECK(huge.error().code == AllocErrorCode::InvalidSize);
        CHECK(huge.error().size == kTop);
        auto odd = allocator.allocate_contiguous(4096, 0x3000);
        REQUIRE_FALSE(odd);
        CHECK(odd.error().code == AllocErrorCode::InvalidAlignment);
        CHECK(odd.error().alignment == 0x3000);
        CHECK_FALSE(allocator.allocate_contiguous(4096, 0));
        CHECK(allocator.used_bytes() == 0);
    }
    SUBCASE("out of memory names the request and the largest block") {
        auto block = allocator.allocate_contiguous(16_MiB, 4_KiB);
        REQUIRE_FALSE(block);
        CHECK(block.error().code == AllocErrorCode::OutOfMemory);
        CHECK(block.error().size == 16_MiB);
        CHECK(block.error().alignment == 4_KiB);
        CHECK(block.error().largest_free == pr(0x8020'3000, 0x8100'0000));
        // Large enough, but not at 16 MiB alignment.
        auto aligned = allocator.allocate_contiguous(4_KiB, 16_MiB);
        REQUIRE_FALSE(aligned);
        CHECK(aligned.error().largest_free == pr(0x8020'3000, 0x8100'0000));
        CHECK(allocator.used_bytes() == 0);
        CHECK(allocator.free_bytes() == 0x8100'0000 - 0x8020'3000);
    }
}

TEST_CASE("allocate_within a window") {
    auto allocator = make<4>({pr(0x8000'0000, 0x8100'0000)});
    auto block = allocator.allocate_within(8_KiB, 4_KiB, pr(0x8080'0800, 0x8090'0000));
    REQUIRE(block);
    CHECK(*block == pr(0x8080'1000, 0x8080'3000));
    // A window holding exactly one block gets exactly that block.
    auto exact = allocator.allocate_within(4_KiB, 4_KiB, pr(0x8000'5000, 0x8000'6000));
    REQUIRE(exact);
    CHECK(*exact == pr(0x8000'5000, 0x8000'6000));
    // Less than a frame left in the window.
    auto none = allocator.allocate_within(4_KiB, 4_KiB, pr(0x8080'2800, 0x8080'3fff));
    REQUIRE_FALSE(none);
    CHECK(none.error().code == AllocErrorCode::OutOfMemory);
    CHECK(none.error().range == pr(0x8080'2800, 0x8080'3fff));
    CHECK(none.error().largest_free == pr(0x8080'3000, 0x8080'3fff));
    CHECK(ranges_of(allocator.used_ranges()) ==
          std::vector<PhysicalRange>{pr(0x8000'5000, 0x8000'6000), pr(0x8080'1000, 0x8080'3000)});
}

TEST_CASE("release gives memory back") {
    auto allocator = make<4>({pr(0x1000, 0x9000)});
    auto a = allocator.allocate_contiguous(0x2000, 0x1000);
    auto b = allocator.allocate_contiguous(0x2000, 0x1000);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(allocator.release(*a));
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(0x1000, 0x3000), pr(0x5000, 0x9000)});
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x3000, 0x5000)});
    // Lowest-first reuses the released block.
    CHECK(*allocator.allocate() == 0x1000_pa);

    auto twice = allocator.release(*a);  // 0x2000 was never handed out again
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == AllocErrorCode::NotAllocated);
    CHECK(twice.error().range == *a);
    CHECK_FALSE(allocator.release(pr(0x8000, 0x9000)));

    // Part of a block.
    REQUIRE(allocator.release(pr(0x4000, 0x5000)));
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x1000, 0x2000), pr(0x3000, 0x4000)});
    // Neighbouring allocations at once.
    CHECK(*allocator.allocate() == 0x2000_pa);
    REQUIRE(allocator.release(pr(0x1000, 0x3000)));
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x3000, 0x4000)});
    CHECK(allocator.free_bytes() + allocator.used_bytes() == 0x8000);
}

TEST_CASE("add_free and reserve") {
    FrameAllocator<4> allocator;
    REQUIRE(allocator.add_free(pr(0x1000, 0x9000)));
    auto frame = allocator.allocate();
    REQUIRE(frame);
    // Free memory that overlaps something handed out would be handed out twice.
    auto overlap = allocator.add_free(pr(0x0000, 0x2000));
    REQUIRE_FALSE(overlap);
    CHECK(overlap.error().code == AllocErrorCode::AlreadyUsed);
    CHECK(overlap.error().range == pr(0x0000, 0x2000));
    CHECK(allocator.free_bytes() == 0x7000);

    // reserve widens to every frame it touches and records nothing as used.
    REQUIRE(allocator.reserve(pr(0x4800, 0x5001)));
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(0x2000, 0x4000), pr(0x6000, 0x9000)});
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x1000, 0x2000)});
    REQUIRE(allocator.reserve(pr(0x8fff, kTop)));  // rounding the end up would pass 2^64
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(0x2000, 0x4000), pr(0x6000, 0x8000)});
    REQUIRE(allocator.add_free(pr(0xf000, 0xf000)));
    CHECK(allocator.free_ranges().size() == 2);
}

TEST_CASE("free memory near the top of the physical space") {
    auto allocator = make<4>({pr(kTop - 0x3000, kTop)});
    // [2^64 - 0x3001, 2^64 - 1) holds two whole frames.
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(kTop - 0x2fff, kTop - 0xfff)});
    // Aligning up would pass 2^64: out of memory, not a wrapped address.
    auto wrapped = allocator.allocate_contiguous(4096, 1ull << 63);
    REQUIRE_FALSE(wrapped);
    CHECK(wrapped.error().code == AllocErrorCode::OutOfMemory);
    CHECK(*allocator.allocate() == PhysicalAddress(kTop - 0x2fff));
    CHECK(*allocator.allocate() == PhysicalAddress(kTop - 0x1fff));
    CHECK_FALSE(allocator.allocate());
}

TEST_CASE("running out of free-set slots changes nothing") {
    auto allocator = make<2>({pr(0x1000, 0x10'0000)});
    REQUIRE(allocator.allocate_contiguous(0x1000, 0x1000));
    // An aligned block from the middle of [0x2000, 0x10'0000) splits it: 2 free
    // ranges are fine...
    REQUIRE(allocator.allocate_contiguous(0x1000, 0x4000));
    CHECK(allocator.free_ranges().size() == 2);
    // ...a third is not.
    const auto free_before = ranges_of(allocator.free_ranges());
    const auto used_before = ranges_of(allocator.used_ranges());
    auto split = allocator.allocate_contiguous(0x1000, 0x1'0000);
    REQUIRE_FALSE(split);
    CHECK(split.error().code == AllocErrorCode::CapacityExceeded);
    CHECK(split.error().capacity == 2);
    CHECK(split.error().size == 0x1000);
    CHECK(split.error().alignment == 0x1'0000);
    CHECK(ranges_of(allocator.free_ranges()) == free_before);
    CHECK(ranges_of(allocator.used_ranges()) == used_before);
}

TEST_CASE("running out of used-set slots undoes the allocation") {
    auto allocator = make<4, 1>({pr(0x1000, 0x10'0000)});
    REQUIRE(allocator.allocate());
    const auto free_before = ranges_of(allocator.free_ranges());
    // Not adjacent to the first allocation: the used set would need 2 ranges.
    auto apart = allocator.allocate_contiguous(0x1000, 0x1'0000);
    REQUIRE_FALSE(apart);
    CHECK(apart.error().code == AllocErrorCode::CapacityExceeded);
    CHECK(apart.error().capacity == 1);
    CHECK(ranges_of(allocator.free_ranges()) == free_before);
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x1000, 0x2000)});
    // Adjacent allocations still merge into the one slot.
    CHECK(*allocator.allocate() == 0x2000_pa);
}

TEST_CASE("release that would split the used set beyond capacity changes nothing") {
    auto allocator = make<4, 1>({pr(0x1000, 0x10'0000)});
    REQUIRE(allocator.allocate_contiguous(0x3000, 0x1000));
    auto hole = allocator.release(pr(0x2000, 0x3000));
    REQUIRE_FALSE(hole);
    CHECK(hole.error().code == AllocErrorCode::CapacityExceeded);
    CHECK(hole.error().capacity == 1);
    CHECK(ranges_of(allocator.used_ranges()) == std::vector<PhysicalRange>{pr(0x1000, 0x4000)});
    CHECK(ranges_of(allocator.free_ranges()) == std::vector<PhysicalRange>{pr(0x4000, 0x10'0000)});
}

TEST_CASE("error messages") {
    AllocError oom{AllocErrorCode::OutOfMemory, 2_MiB, 2_MiB, pr(0, kTop), pr(0x8000'3000, 0x8010'0000), 0};
    CHECK(text_of(oom) ==
          "frame allocator: no free block of 2 MiB aligned to 0x200000 in [0x0, 0xffffffffffffffff) "
          "(largest free block [0x80003000, 0x80100000), 1012 KiB)");
    CHECK(text_of(AllocError{AllocErrorCode::InvalidSize, 0, 4096, {}, {}, 0}) == "frame allocator: cannot allocate a block of 0 B");
    CHECK(text_of(AllocError{AllocErrorCode::InvalidAlignment, 4096, 3, {}, {}, 0}) ==
          "frame allocator: alignment 0x3 is not a power of two (block of 4 KiB)");
    CHECK(text_of(AllocError{AllocErrorCode::CapacityExceeded, 4096, 4096, pr(0, kTop), {}, 8}) ==
          "frame allocator: more than 8 ranges needed to track a block of 4 KiB in [0x0, 0xffffffffffffffff)");
    CHECK(text_of(AllocError{AllocErrorCode::CapacityExceeded, 0, 0, pr(0x1000, 0x2000), {}, 8}) ==
          "frame allocator: more than 8 ranges needed to track [0x1000, 0x2000)");
    CHECK(text_of(AllocError{AllocErrorCode::NotAllocated, 0, 0, pr(0x1000, 0x2000), {}, 0}) ==
          "frame allocator: released [0x1000, 0x2000), which was not allocated");
    CHECK(text_of(AllocError{AllocErrorCode::AlreadyUsed, 0, 0, pr(0x1000, 0x2000), {}, 0}) ==
          "frame allocator: free memory [0x1000, 0x2000) overlaps allocated memory");
}

// --- randomised: never twice, nothing lost ------------------------------------------

namespace {

constexpr std::uint64_t kFrame = 4096;

template <class Set>
std::set<std::uint64_t> frames_of(const Set& set) {
    std::set<std::uint64_t> frames;
    for (const auto& range : set) {
        REQUIRE(range.is_aligned(kFrame));
        for (std::uint64_t frame = range.begin().value(); frame < range.end().value(); frame += kFrame)
            frames.insert(frame);
    }
    return frames;
}

// Lowest aligned run of `count` frames, all free, inside the window.
std::optional<std::uint64_t> lowest_fit(const std::set<std::uint64_t>& free, std::uint64_t count, std::uint64_t alignment,
                                        PhysicalRange window) {
    for (std::uint64_t start : free) {
        if (start % alignment != 0 || start < window.begin().value()) continue;
        if (start + count * kFrame > window.end().value()) break;
        bool all = true;
        for (std::uint64_t i = 0; i < count && all; ++i) all = free.count(start + i * kFrame) != 0;
        if (all) return start;
    }
    return std::nullopt;
}

template <std::size_t N>
void run_random(std::uint64_t seed, int steps) {
    CAPTURE(seed);
    std::mt19937_64 random(seed);
    auto below = [&](std::uint64_t bound) { return random() % bound; };
    const std::uint64_t base = 0x8000'0000;
    const std::uint64_t frames = 512;

    // Initial RAM: a few ranges with unaligned ends; a frame is free when it
    // lies entirely inside one of them (computed here, not by the allocator).
    std::vector<PhysicalRange> ram;
    std::set<std::uint64_t> initial;
    for (int i = 0; i < 5; ++i) {
        const std::uint64_t begin = base + below(frames * kFrame);
        const std::uint64_t end = std::min(begin + below(frames * kFrame / 3), base + frames * kFrame);
        ram.push_back(pr(begin, end));
        for (std::uint64_t frame = (begin + kFrame - 1) / kFrame * kFrame; frame + kFrame <= end; frame += kFrame)
            initial.insert(frame);
    }
    auto created = FrameAllocator<N>::create(ram);
    if (!created) {
        // Five input ranges may not fit in a small N; then there is nothing to run.
        REQUIRE(created.error().code == AllocErrorCode::CapacityExceeded);
        return;
    }
    auto allocator = *created;
    REQUIRE(frames_of(allocator.free_ranges()) == initial);

    std::set<std::uint64_t> handed;          // frames currently allocated
    std::vector<PhysicalRange> blocks;       // what was handed out, for release
    int successes = 0;
    int out_of_memory = 0;
    int full = 0;
    for (int step = 0; step < steps; ++step) {
        CAPTURE(step);
        const std::uint64_t choice = below(100);
        std::set<std::uint64_t> free;
        for (std::uint64_t frame : initial)
            if (!handed.count(frame)) free.insert(frame);

        if (choice < 25 && !blocks.empty()) {
            const std::size_t index = below(blocks.size());
            const PhysicalRange block = blocks[index];
            auto result = allocator.release(block);
            if (result) {
                for (std::uint64_t frame = block.begin().value(); frame < block.end().value(); frame += kFrame)
                    handed.erase(frame);
                blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(index));
            } else {
                CHECK(result.error().code == AllocErrorCode::CapacityExceeded);
            }
        } else {
            std::uint64_t size = kFrame;
            std::uint64_t alignment = kFrame;
            PhysicalRange window = RangeSet<PhysicalAddress, N>::kEverything;
            Expected<PhysicalRange, AllocError> result = PhysicalRange{};
            if (choice < 55) {
                auto frame = allocator.allocate();
                if (frame) {
                    result = PhysicalRange(*frame, *frame + kFrame);
                } else {
                    result = unexpected(frame.error());
                }
            } else {
                size = (1 + below(12)) * kFrame - below(kFrame);
                alignment = std::uint64_t{1} << (10 + below(8));  // 1 KiB .. 128 KiB
                if (choice < 80) {
                    result = allocator.allocate_contiguous(size, alignment);
                } else {
                    const std::uint64_t begin = base + below(frames * kFrame);
                    window = pr(begin, std::min(begin + below(frames * kFrame / 2), base + frames * kFrame));
                    result = allocator.allocate_within(size, alignment, window);
                }
            }
            const std::uint64_t count = (size + kFrame - 1) / kFrame;
            const std::uint64_t frame_alignment = std::max(alignment, kFrame);
            const auto expected = lowest_fit(free, count, frame_alignment, window);
            if (result) {
                ++successes;
                const PhysicalRange block = *result;
                REQUIRE(expected.has_value());
                CHECK(block.begin().value() == *expected);  // lowest-first
                CHECK(block.size() == count * kFrame);
                CHECK(block.begin().is_aligned(frame_alignment));
                CHECK(window.contains(block));
                for (std::uint64_t frame = block.begin().value(); frame < block.end().value(); frame += kFrame) {
                    REQUIRE(initial.count(frame) == 1);  // only RAM
                    REQUIRE(handed.count(frame) == 0);   // never twice
                    handed.insert(frame);
                }
                blocks.push_back(block);
            } else if (result.error().code == AllocErrorCode::OutOfMemory) {
                ++out_of_memory;
                CHECK_FALSE(expected.has_value());
                CHECK(result.error().size == size);
                CHECK(result.error().alignment == alignment);
            } else {
                ++full;
                CHECK(result.error().code == AllocErrorCode::CapacityExceeded);
                CHECK(expected.has_value());
            }
        }

        // Used is exactly what was handed out, free exactly the rest of RAM.
        const auto used_frames = frames_of(allocator.used_ranges());
        const auto free_frames = frames_of(allocator.free_ranges());
        REQUIRE(used_frames == handed);
        std::set<std::uint64_t> rest;
        for (std::uint64_t frame : initial)
            if (!handed.count(frame)) rest.insert(frame);
        REQUIRE(free_frames == rest);
        REQUIRE(allocator.used_bytes() + allocator.free_bytes() == initial.size() * kFrame);
        REQUIRE(allocator.used_bytes() == handed.size() * kFrame);
    }
    MESSAGE("seed " << seed << ": " << successes << " allocations, " << out_of_memory << " out of memory, " << full
                    << " capacity errors");
    CHECK(successes > 0);
    CHECK(out_of_memory > 0);
}

}  // namespace

TEST_CASE("randomised: no frame twice, used + free = RAM") {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) run_random<64>(seed, 1000);
    for (std::uint64_t seed = 11; seed <= 14; ++seed) run_random<8>(seed, 1000);
}
