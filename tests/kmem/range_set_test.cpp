#include <doctest/doctest.h>

#include <cstdint>
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kmem/range.hpp"
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

using loader_api::host::text_of;

constexpr std::uint64_t kTop = ~std::uint64_t{0};

constexpr PhysicalRange pr(std::uint64_t begin, std::uint64_t end) { return {PhysicalAddress(begin), PhysicalAddress(end)}; }
constexpr VirtualRange vr(std::uint64_t begin, std::uint64_t end) { return {VirtualAddress(begin), VirtualAddress(end)}; }

template <class Set>
std::vector<typename Set::range_type> ranges_of(const Set& set) {
    return {set.begin(), set.end()};
}

template <std::size_t N>
RangeSet<PhysicalAddress, N> set_of(std::initializer_list<PhysicalRange> ranges) {
    RangeSet<PhysicalAddress, N> set;
    for (auto range : ranges) REQUIRE(set.insert(range));
    return set;
}

// --- compile-time use --------------------------------------------------------

constexpr bool merges_at_compile_time() {
    RangeSet<PhysicalAddress, 2> set;
    if (!set.insert(pr(0x1000, 0x2000)) || !set.insert(pr(0x3000, 0x4000))) return false;
    if (set.size() != 2) return false;
    if (!set.insert(pr(0x2000, 0x3000))) return false;  // bridges the gap
    return set.size() == 1 && set[0] == pr(0x1000, 0x4000) && set.total_size() == 0x3000;
}
static_assert(merges_at_compile_time());

constexpr bool carves_at_compile_time() {
    RangeSet<VirtualAddress, 2> set;
    if (!set.insert(vr(0x1000, 0x9000)) || !set.remove(vr(0x3000, 0x4000))) return false;
    return set.size() == 2 && set[0] == vr(0x1000, 0x3000) && set[1] == vr(0x4000, 0x9000) &&
           set.contains(0x2fff_va) && !set.contains(0x3000_va) && set.contains(vr(0x4000, 0x9000)) &&
           !set.overlaps(vr(0x3000, 0x4000));
}
static_assert(carves_at_compile_time());

constexpr bool overflow_is_an_error_at_compile_time() {
    RangeSet<PhysicalAddress, 1> set;
    if (!set.insert(pr(0x1000, 0x2000))) return false;
    auto full = set.insert(pr(0x3000, 0x4000));
    if (full || full.error().code != RangeSetErrorCode::CapacityExceeded) return false;
    auto split = set.remove(pr(0x1400, 0x1800));
    if (split || split.error().range != pr(0x1400, 0x1800)) return false;
    return set.size() == 1 && set[0] == pr(0x1000, 0x2000);
}
static_assert(overflow_is_an_error_at_compile_time());

constexpr bool finds_a_fit_at_compile_time() {
    RangeSet<PhysicalAddress, 4> set;
    if (!set.insert(pr(0x1000, 0x3000)) || !set.insert(pr(0x5000, 0xa000))) return false;
    auto fit = set.find_fit(0x2000, 0x4000);
    auto none = set.find_fit(0x6000, 0x1000);
    return fit && *fit == pr(0x8000, 0xa000) && !none && none.error().largest == pr(0x5000, 0xa000);
}
static_assert(finds_a_fit_at_compile_time());

}  // namespace

// --- unit tests ----------------------------------------------------------------

TEST_CASE("a new set is empty") {
    RangeSet<PhysicalAddress, 4> set;
    CHECK(set.empty());
    CHECK(set.size() == 0);
    CHECK(set.total_size() == 0);
    CHECK(set.begin() == set.end());
    CHECK(RangeSet<PhysicalAddress, 4>::capacity() == 4);
    CHECK_FALSE(set.contains(0_pa));
    CHECK_FALSE(set.overlaps(pr(0, kTop)));
    CHECK(set.contains(pr(0x1000, 0x1000)));  // the empty range is a subset of anything
}

TEST_CASE("insert keeps ranges sorted") {
    auto set = set_of<4>({pr(0x5000, 0x6000), pr(0x1000, 0x2000), pr(0x9000, 0xa000), pr(0x3000, 0x4000)});
    CHECK(ranges_of(set) ==
          std::vector<PhysicalRange>{pr(0x1000, 0x2000), pr(0x3000, 0x4000), pr(0x5000, 0x6000), pr(0x9000, 0xa000)});
    CHECK(set.total_size() == 0x4000);
    CHECK(set[2] == pr(0x5000, 0x6000));
}

TEST_CASE("insert merges") {
    SUBCASE("adjacent below and above") {
        auto set = set_of<4>({pr(0x2000, 0x3000), pr(0x1000, 0x2000), pr(0x3000, 0x4000)});
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x4000)});
    }
    SUBCASE("overlapping") {
        auto set = set_of<4>({pr(0x2000, 0x5000), pr(0x1000, 0x3000), pr(0x4000, 0x6000)});
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x6000)});
    }
    SUBCASE("one insert swallowing several ranges, bytes not pages") {
        auto set = set_of<4>({pr(0x10, 0x20), pr(0x30, 0x40), pr(0x50, 0x60), pr(0x100, 0x110)});
        REQUIRE(set.insert(pr(0x18, 0x55)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x10, 0x60), pr(0x100, 0x110)});
        REQUIRE(set.insert(pr(0x60, 0x100)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x10, 0x110)});
    }
    SUBCASE("already contained changes nothing") {
        auto set = set_of<4>({pr(0x1000, 0x8000)});
        REQUIRE(set.insert(pr(0x2000, 0x3000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x8000)});
    }
    SUBCASE("an empty range is a no-op even when full") {
        auto set = set_of<1>({pr(0x1000, 0x2000)});
        REQUIRE(set.insert(pr(0x5000, 0x5000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x2000)});
    }
    SUBCASE("one byte apart does not merge") {
        auto set = set_of<4>({pr(0x1000, 0x1fff), pr(0x2000, 0x3000)});
        CHECK(set.size() == 2);
    }
}

TEST_CASE("remove carves") {
    auto set = set_of<4>({pr(0x1000, 0x9000)});
    SUBCASE("the middle splits a range") {
        REQUIRE(set.remove(pr(0x3000, 0x5000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x3000), pr(0x5000, 0x9000)});
    }
    SUBCASE("the low end") {
        REQUIRE(set.remove(pr(0x0000, 0x2000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x2000, 0x9000)});
    }
    SUBCASE("the high end") {
        REQUIRE(set.remove(pr(0x8000, 0xf000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x8000)});
    }
    SUBCASE("all of it") {
        REQUIRE(set.remove(pr(0x1000, 0x9000)));
        CHECK(set.empty());
    }
    SUBCASE("across several ranges, trimming the outer ones") {
        REQUIRE(set.remove(pr(0x2000, 0x3000)));
        REQUIRE(set.remove(pr(0x4000, 0x5000)));
        REQUIRE(set.remove(pr(0x6000, 0x7000)));
        REQUIRE(set.size() == 4);
        REQUIRE(set.remove(pr(0x2800, 0x6800)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x2000), pr(0x7000, 0x9000)});
    }
    SUBCASE("addresses not in the set are ignored") {
        REQUIRE(set.remove(pr(0xa000, 0xb000)));
        REQUIRE(set.remove(pr(0x0000, 0x1000)));
        REQUIRE(set.remove(pr(0x5000, 0x5000)));
        CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x9000)});
    }
}

TEST_CASE("contains and overlaps") {
    const auto set = set_of<4>({pr(0x1000, 0x3000), pr(0x5000, 0x6000), pr(0x8000, 0x9000)});
    CHECK_FALSE(set.contains(0x0fff_pa));
    CHECK(set.contains(0x1000_pa));
    CHECK(set.contains(0x2fff_pa));
    CHECK_FALSE(set.contains(0x3000_pa));
    CHECK(set.contains(0x5800_pa));
    CHECK(set.contains(0x8fff_pa));
    CHECK_FALSE(set.contains(0x9000_pa));
    CHECK_FALSE(set.contains(PhysicalAddress(kTop)));

    CHECK(set.contains(pr(0x1000, 0x3000)));
    CHECK(set.contains(pr(0x1800, 0x2800)));
    CHECK_FALSE(set.contains(pr(0x2000, 0x5800)));  // spans a gap
    CHECK_FALSE(set.contains(pr(0x0800, 0x1800)));
    CHECK_FALSE(set.contains(pr(0x3000, 0x4000)));

    CHECK(set.overlaps(pr(0x2fff, 0x5000)));
    CHECK(set.overlaps(pr(0x0000, 0xf000)));
    CHECK(set.overlaps(pr(0x8fff, 0x9000)));
    CHECK_FALSE(set.overlaps(pr(0x3000, 0x5000)));
    CHECK_FALSE(set.overlaps(pr(0x9000, 0xa000)));
    CHECK_FALSE(set.overlaps(pr(0x1800, 0x1800)));
}

TEST_CASE("clear, equality and iteration") {
    auto a = set_of<4>({pr(0x1000, 0x2000), pr(0x4000, 0x5000)});
    auto b = set_of<4>({pr(0x4000, 0x5000)});
    CHECK(a != b);
    REQUIRE(b.insert(pr(0x1000, 0x2000)));
    CHECK(a == b);
    // Equal contents after different histories compare equal (stale slots ignored).
    REQUIRE(b.insert(pr(0x7000, 0x8000)));
    REQUIRE(b.remove(pr(0x7000, 0x8000)));
    CHECK(a == b);

    std::uint64_t sum = 0;
    for (const auto& range : a) sum += range.size();
    CHECK(sum == 0x2000);

    a.clear();
    CHECK(a.empty());
    CHECK(a.total_size() == 0);
    CHECK_FALSE(a.contains(0x1000_pa));
    REQUIRE(a.insert(pr(0x3000, 0x4000)));
    CHECK(ranges_of(a) == std::vector<PhysicalRange>{pr(0x3000, 0x4000)});
}

TEST_CASE("insert beyond capacity is an error and changes nothing") {
    auto set = set_of<3>({pr(0x1000, 0x2000), pr(0x3000, 0x4000), pr(0x5000, 0x6000)});
    const auto before = ranges_of(set);

    auto result = set.insert(pr(0x7000, 0x8000));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == RangeSetErrorCode::CapacityExceeded);
    CHECK(result.error().range == pr(0x7000, 0x8000));
    CHECK(result.error().capacity == 3);
    CHECK(ranges_of(set) == before);

    // In a gap between members, not touching either.
    CHECK_FALSE(set.insert(pr(0x2400, 0x2800)));
    CHECK(ranges_of(set) == before);

    // A full set still takes inserts that merge.
    REQUIRE(set.insert(pr(0x2000, 0x2800)));
    REQUIRE(set.insert(pr(0x6000, 0x7000)));
    CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x2800), pr(0x3000, 0x4000), pr(0x5000, 0x7000)});
    REQUIRE(set.insert(pr(0x2800, 0x3000)));
    CHECK(set.size() == 2);
    REQUIRE(set.insert(pr(0x9000, 0xa000)));
    CHECK(set.size() == 3);
}

TEST_CASE("a split beyond capacity is an error and changes nothing") {
    auto set = set_of<2>({pr(0x1000, 0x4000), pr(0x6000, 0x9000)});
    const auto before = ranges_of(set);

    auto result = set.remove(pr(0x7000, 0x8000));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == RangeSetErrorCode::CapacityExceeded);
    CHECK(result.error().range == pr(0x7000, 0x8000));
    CHECK(result.error().capacity == 2);
    CHECK(ranges_of(set) == before);

    // Removing across the gap trims both sides: no extra slot needed.
    REQUIRE(set.remove(pr(0x3000, 0x7000)));
    CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x1000, 0x3000), pr(0x7000, 0x9000)});
    // Removing one whole member makes room for the split.
    REQUIRE(set.remove(pr(0x1000, 0x3000)));
    REQUIRE(set.remove(pr(0x7800, 0x8000)));
    CHECK(ranges_of(set) == std::vector<PhysicalRange>{pr(0x7000, 0x7800), pr(0x8000, 0x9000)});
}

TEST_CASE("find_fit: lowest aligned block inside one member") {
    const auto set = set_of<4>({pr(0x1000, 0x3000), pr(0x5000, 0x6000), pr(0x8000, 0x2'0000)});
    CHECK(*set.find_fit(0x1000, 0x1000) == pr(0x1000, 0x2000));
    CHECK(*set.find_fit(0x2000, 0x1000) == pr(0x1000, 0x3000));
    // 0x3000 bytes do not fit in the first two members.
    CHECK(*set.find_fit(0x3000, 0x1000) == pr(0x8000, 0xb000));
    // Alignment skips the unaligned start of a member.
    CHECK(*set.find_fit(0x1000, 0x4000) == pr(0x8000, 0x9000));
    CHECK(*set.find_fit(0x1000, 0x1'0000) == pr(0x1'0000, 0x1'1000));
    // Unaligned sizes and byte alignments are fine: the set knows no pages.
    CHECK(*set.find_fit(0x10, 1) == pr(0x1000, 0x1010));
    CHECK(*set.find_fit(0x1001, 1) == pr(0x1000, 0x2001));
}

TEST_CASE("find_fit within a window") {
    const auto set = set_of<4>({pr(0x1000, 0x3000), pr(0x5000, 0x6000), pr(0x8000, 0x2'0000)});
    CHECK(*set.find_fit(0x1000, 0x1000, pr(0x2000, 0xf000)) == pr(0x2000, 0x3000));
    CHECK(*set.find_fit(0x1000, 0x1000, pr(0x2800, 0xf000)) == pr(0x5000, 0x6000));
    CHECK(*set.find_fit(0x800, 0x800, pr(0x2800, 0xf000)) == pr(0x2800, 0x3000));
    CHECK(*set.find_fit(0x2000, 0x2000, pr(0x4000, 0x2'0000)) == pr(0x8000, 0xa000));
    // The window's own end is a limit too.
    CHECK(*set.find_fit(0x1000, 0x1000, pr(0x1'd800, 0x1'ffff)) == pr(0x1'e000, 0x1'f000));
    CHECK_FALSE(set.find_fit(0x1000, 0x1000, pr(0x1'e800, 0x1'ffff)));

    auto none = set.find_fit(0x1000, 0x1000, pr(0x1'f800, 0x2'0800));
    REQUIRE_FALSE(none);
    CHECK(none.error().code == RangeSetErrorCode::NoFit);
    CHECK(none.error().range == pr(0x1'f800, 0x2'0800));
    CHECK(none.error().largest == pr(0x1'f800, 0x2'0000));

    auto outside = set.find_fit(1, 1, pr(0x3000, 0x5000));
    REQUIRE_FALSE(outside);
    CHECK(outside.error().largest.empty());
    CHECK_FALSE(set.find_fit(1, 1, pr(0x1000, 0x1000)));
}

TEST_CASE("find_fit failures carry the request") {
    const auto set = set_of<4>({pr(0x1000, 0x3000), pr(0x5000, 0x9000)});
    auto none = set.find_fit(0x5000, 0x1000);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == RangeSetErrorCode::NoFit);
    CHECK(none.error().size == 0x5000);
    CHECK(none.error().alignment == 0x1000);
    CHECK(none.error().largest == pr(0x5000, 0x9000));

    // Big enough but not at that alignment.
    auto misaligned = set.find_fit(0x4000, 0x4000);
    REQUIRE_FALSE(misaligned);
    CHECK(misaligned.error().largest == pr(0x5000, 0x9000));

    auto alignment = set.find_fit(0x1000, 0x3000);
    REQUIRE_FALSE(alignment);
    CHECK(alignment.error().code == RangeSetErrorCode::InvalidAlignment);
    CHECK(alignment.error().alignment == 0x3000);
    CHECK(set.find_fit(0x1000, 0).error().code == RangeSetErrorCode::InvalidAlignment);

    auto zero = set.find_fit(0, 0x1000);
    REQUIRE_FALSE(zero);
    CHECK(zero.error().code == RangeSetErrorCode::InvalidSize);
}

TEST_CASE("near the top of the address space") {
    RangeSet<VirtualAddress, 4> set;
    REQUIRE(set.insert(vr(kTop - 0x3000, kTop)));
    CHECK(set.contains(VirtualAddress(kTop - 1)));
    CHECK_FALSE(set.contains(VirtualAddress(kTop)));
    CHECK(set.total_size() == 0x3000);
    REQUIRE(set.insert(vr(kTop - 0x5000, kTop - 0x3000)));
    CHECK(ranges_of(set) == std::vector<VirtualRange>{vr(kTop - 0x5000, kTop)});
    REQUIRE(set.remove(vr(kTop - 0x2000, kTop - 0x1000)));
    CHECK(ranges_of(set) == std::vector<VirtualRange>{vr(kTop - 0x5000, kTop - 0x2000), vr(kTop - 0x1000, kTop)});

    // Both members end one byte short of a page boundary, so the only
    // aligned page that fits starts a page lower than the first one tried.
    CHECK(*set.find_fit(0x1000, 0x1000, vr(kTop - 0x4000, kTop)) == vr(kTop - 0x3fff, kTop - 0x2fff));
    CHECK_FALSE(set.find_fit(0x1000, 0x1000, vr(kTop - 0x3000, kTop)));
    // Aligning up overflows past 2^64: no fit rather than a wrapped answer.
    auto huge = set.find_fit(1, 1ull << 63, vr(kTop - 0x800, kTop));
    REQUIRE_FALSE(huge);
    CHECK(huge.error().code == RangeSetErrorCode::NoFit);
    CHECK(*set.find_fit(0x1000, 1, vr(kTop - 0x1000, kTop)) == vr(kTop - 0x1000, kTop));
    CHECK_FALSE(set.find_fit(0x1001, 1, vr(kTop - 0x1000, kTop)));
}

TEST_CASE("find_fit at 2 MiB and 1 GiB") {
    RangeSet<PhysicalAddress, 4> set;
    REQUIRE(set.insert(pr(0x8020'0000 + 0x3000, 0x1'8000'0000)));
    CHECK(*set.find_fit(2_MiB, 2_MiB) == pr(0x8040'0000, 0x8060'0000));
    CHECK(*set.find_fit(1_GiB, 1_GiB) == pr(0xc000'0000, 0x1'0000'0000));
    CHECK(*set.find_fit(3_GiB, 1_GiB) == pr(0xc000'0000, 0x1'8000'0000));
    CHECK_FALSE(set.find_fit(3_GiB + 4_KiB, 1_GiB));
    CHECK(*set.find_fit(3_GiB + 4_KiB, 4_KiB) == pr(0x8020'3000, 0x1'4020'4000));
    CHECK(*set.find_fit(1_GiB, 4_KiB) == pr(0x8020'3000, 0xc020'3000));
}

TEST_CASE("error messages") {
    RangeSet<PhysicalAddress, 1> physical;
    REQUIRE(physical.insert(pr(0x1000, 0x2000)));
    CHECK(text_of(physical.insert(pr(0x3000, 0x4000)).error()) ==
          "physical range set: no room for [0x3000, 0x4000): the result needs more than 1 ranges");
    CHECK(text_of(physical.find_fit(8_KiB, 0x1000).error()) ==
          "physical range set: no block of 8 KiB aligned to 0x1000 in [0x0, 0xffffffffffffffff) "
          "(largest block there [0x1000, 0x2000), 4 KiB)");
    CHECK(text_of(physical.find_fit(0, 0x1000, pr(0x1000, 0x2000)).error()) ==
          "physical range set: requested a block of size 0 in [0x1000, 0x2000)");
    RangeSet<VirtualAddress, 1> virt;
    CHECK(text_of(virt.find_fit(4_KiB, 0x3000).error()) ==
          "virtual range set: alignment 0x3000 is not a power of two (block of 4 KiB)");
}

// --- randomised comparison against a page-set model -----------------------------

namespace {

// The reference: the set of `unit`-sized cells in [base, base + cells * unit)
// that are members, one std::set entry per cell.
struct Model {
    std::uint64_t base;
    std::uint64_t unit;
    std::uint64_t cells;
    std::set<std::uint64_t> members;  // cell start addresses

    std::vector<VirtualRange> runs() const {
        std::vector<VirtualRange> result;
        for (std::uint64_t cell : members) {
            if (!result.empty() && result.back().end().value() == cell) {
                result.back() = vr(result.back().begin().value(), cell + unit);
            } else {
                result.push_back(vr(cell, cell + unit));
            }
        }
        return result;
    }
    bool has(std::uint64_t address) const {
        if (address < base || address - base >= cells * unit) return false;
        return members.count(base + (address - base) / unit * unit) != 0;
    }
    // Whether every cell of [begin, end) is a member (cell-aligned bounds).
    bool has_all(std::uint64_t begin, std::uint64_t end) const {
        for (std::uint64_t cell = begin; cell < end; cell += unit)
            if (!has(cell)) return false;
        return true;
    }
    bool has_any(std::uint64_t begin, std::uint64_t end) const {
        for (std::uint64_t cell = begin; cell < end; cell += unit)
            if (has(cell)) return true;
        return false;
    }
    // The lowest block by brute force: try every aligned start.
    std::optional<VirtualRange> fit(std::uint64_t size, std::uint64_t alignment, VirtualRange window) const {
        // Outside the modelled cells nothing is a member; clamping keeps the
        // search over kEverything from walking all of 2^64.
        window = window.intersection(vr(base, base + cells * unit));
        std::uint64_t start = window.begin().value();
        if (const std::uint64_t misalignment = start % alignment; misalignment != 0) {
            if (start > kTop - (alignment - misalignment)) return std::nullopt;
            start += alignment - misalignment;
        }
        while (start <= window.end().value() && window.end().value() - start >= size) {
            if (has_all(start, start + size)) return vr(start, start + size);
            if (start > kTop - alignment) break;
            start += alignment;
        }
        return std::nullopt;
    }
    VirtualRange largest(VirtualRange window) const {
        VirtualRange best{};
        for (const auto& run : runs()) {
            const auto piece = run.intersection(window);
            if (piece.size() > best.size()) best = piece;
        }
        return best;
    }
};

struct Config {
    const char* name;
    std::uint64_t base;
    std::uint64_t unit;
    std::uint64_t cells;
    std::uint64_t seed;
};

template <std::size_t N>
void run_random(const Config& config, int steps) {
    const std::string name = config.name;
    CAPTURE(name);
    std::mt19937_64 random(config.seed);
    auto below = [&](std::uint64_t bound) { return random() % bound; };
    Model model{config.base, config.unit, config.cells, {}};
    RangeSet<VirtualAddress, N> set;
    auto cell = [&](std::uint64_t index) { return config.base + index * config.unit; };
    auto random_range = [&] {
        const std::uint64_t first = below(config.cells + 1);
        const std::uint64_t length = std::min(below(config.cells / 4 + 1), config.cells - first);
        return vr(cell(first), cell(first + length));
    };

    int capacity_failures = 0;
    int splits = 0;
    int fits = 0;
    for (int step = 0; step < steps; ++step) {
        CAPTURE(step);
        const auto before = ranges_of(set);
        const auto range = random_range();
        const std::uint64_t choice = below(100);
        if (choice < 2) {
            set.clear();
            model.members.clear();
        } else {
            const bool inserting = choice < 55;
            Model next = model;
            for (std::uint64_t c = range.begin().value(); c < range.end().value(); c += config.unit) {
                if (inserting) {
                    next.members.insert(c);
                } else {
                    next.members.erase(c);
                }
            }
            const auto expected = next.runs();
            if (!inserting && expected.size() > model.runs().size()) ++splits;
            auto result = inserting ? set.insert(range) : set.remove(range);
            if (expected.size() > N) {
                ++capacity_failures;
                REQUIRE_FALSE(result);
                CHECK(result.error().code == RangeSetErrorCode::CapacityExceeded);
                CHECK(result.error().range == range);
                CHECK(result.error().capacity == N);
                REQUIRE(ranges_of(set) == before);
            } else {
                REQUIRE(result);
                model = std::move(next);
            }
        }

        // The representation is exactly the model's maximal runs: sorted, merged.
        const auto runs = model.runs();
        REQUIRE(ranges_of(set) == runs);
        REQUIRE(set.size() == runs.size());
        REQUIRE(set.total_size() == model.members.size() * config.unit);
        REQUIRE(set.empty() == model.members.empty());

        for (int probe = 0; probe < 4; ++probe) {
            const std::uint64_t address = cell(below(config.cells + 1)) + below(config.unit);
            CHECK(set.contains(VirtualAddress(address)) == model.has(address));
        }
        const auto query = random_range();
        CHECK(set.contains(query) == model.has_all(query.begin().value(), query.end().value()));
        CHECK(set.overlaps(query) == model.has_any(query.begin().value(), query.end().value()));

        const std::uint64_t size = (1 + below(config.cells / 8 + 1)) * config.unit;
        const std::uint64_t alignment = config.unit << below(6);
        const auto window = below(3) == 0 ? RangeSet<VirtualAddress, N>::kEverything : random_range();
        const auto fit = set.find_fit(size, alignment, window);
        const auto expected_fit = model.fit(size, alignment, window);
        REQUIRE(fit.has_value() == expected_fit.has_value());
        if (fit) {
            ++fits;
            CHECK(*fit == *expected_fit);
        } else {
            CHECK(fit.error().code == RangeSetErrorCode::NoFit);
            CHECK(fit.error().largest == model.largest(window));
        }
    }
    // The run must have exercised the interesting paths, or it proves little.
    MESSAGE(name << ": " << capacity_failures << " capacity failures, " << splits << " splits, " << fits
                        << " fits");
    CHECK(splits > 0);
    CHECK(fits > 0);
    if (N < config.cells / 2) CHECK(capacity_failures > 0);
}

}  // namespace

TEST_CASE("randomised against a page-set model") {
    run_random<6>({"pages at 2 GiB, N=6", 0x8000'0000, 4096, 96, 1}, 3000);
    run_random<64>({"pages at 2 GiB, N=64", 0x8000'0000, 4096, 96, 2}, 3000);
    run_random<3>({"pages up to 2^64 - 4 KiB, N=3", kTop - 4095 - 96 * 4096, 4096, 96, 3}, 3000);
    run_random<8>({"bytes up to 2^64 - 1, N=8", kTop - 200, 1, 200, 4}, 3000);
}
