#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kmem/range.hpp"
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

using loader_api::host::text_of;

constexpr std::uint64_t kTop = ~std::uint64_t{0};  // 2^64 - 1, the highest end a range can have

constexpr PhysicalRange pr(std::uint64_t begin, std::uint64_t end) { return {PhysicalAddress(begin), PhysicalAddress(end)}; }
constexpr VirtualRange vr(std::uint64_t begin, std::uint64_t end) { return {VirtualAddress(begin), VirtualAddress(end)}; }

template <class R>
std::vector<std::uint64_t> page_list(const R& range, std::uint64_t page_size) {
    std::vector<std::uint64_t> pages;
    for (auto page : range.pages(page_size)) {
        pages.push_back(page.value());
        if (pages.size() > 64) break;  // a runaway iterator must fail the test, not hang it
    }
    return pages;
}

}  // namespace

// Compile-time use: every query is a constant expression.
static_assert(pr(0x1000, 0x3000).size() == 0x2000);
static_assert(pr(0x1000, 0x1000).empty());
static_assert(pr(0x1000, 0x3000).contains(0x2fff_pa));
static_assert(!pr(0x1000, 0x3000).contains(0x3000_pa));
static_assert(pr(0x1000, 0x3000).contains(pr(0x2000, 0x3000)));
static_assert(pr(0x1000, 0x3000).overlaps(pr(0x2fff, 0x5000)));
static_assert(!pr(0x1000, 0x3000).overlaps(pr(0x3000, 0x5000)));
static_assert(pr(0x1000, 0x3000).intersection(pr(0x2000, 0x5000)) == pr(0x2000, 0x3000));
static_assert(pr(0x1000, 0x4000).subtract(pr(0x2000, 0x3000)).count == 2);
static_assert(pr(0x1000, 0x4000).subtract(pr(0x2000, 0x3000)).pieces[1] == pr(0x3000, 0x4000));
static_assert(vr(0x1234, 0x5001).pages().count() == 5);
static_assert(*VirtualRange::from_size(0x1000_va, 0x2000) == vr(0x1000, 0x3000));
static_assert(!VirtualRange::from_size(VirtualAddress(kTop), 1).has_value());
static_assert(pr(0, 2_MiB).is_aligned(2_MiB));
static_assert([] {
    std::uint64_t sum = 0;
    for (auto page : vr(0x1800, 0x3800).pages()) sum += page.value();
    return sum == 0x1000 + 0x2000 + 0x3000;
}());

TEST_CASE("size, empty, from_size") {
    CHECK(pr(0x8000'0000, 0x8020'0000).size() == 2_MiB);
    CHECK(pr(5, 5).empty());
    CHECK_FALSE(pr(5, 6).empty());
    CHECK(PhysicalRange{}.empty());

    auto range = PhysicalRange::from_size(0x8000'0000_pa, 1_GiB);
    REQUIRE(range);
    CHECK(range->begin() == 0x8000'0000_pa);
    CHECK(range->end() == 0xc000'0000_pa);
    CHECK(PhysicalRange::from_size(0x1000_pa, 0)->empty());
}

TEST_CASE("from_size reports overflow past 2^64") {
    // The highest representable end is 2^64 - 1.
    auto highest = VirtualRange::from_size(VirtualAddress(kTop - 4096), 4096);
    REQUIRE(highest);
    CHECK(highest->end() == VirtualAddress(kTop));

    // Reaching exactly 2^64 is already an overflow.
    auto exact = VirtualRange::from_size(VirtualAddress(kTop - 4095), 4096);
    REQUIRE_FALSE(exact);
    CHECK(exact.error().base == kTop - 4095);
    CHECK(exact.error().amount == 4096);
    CHECK_FALSE(exact.error().subtract);

    CHECK_FALSE(VirtualRange::from_size(VirtualAddress(1), kTop));
    CHECK(VirtualRange::from_size(VirtualAddress(0), kTop).has_value());
    CHECK_FALSE(PhysicalRange::from_size(PhysicalAddress(kTop), 1));
}

TEST_CASE("contains an address: half-open") {
    const auto range = pr(0x1000, 0x2000);
    CHECK_FALSE(range.contains(0xfff_pa));
    CHECK(range.contains(0x1000_pa));
    CHECK(range.contains(0x1fff_pa));
    CHECK_FALSE(range.contains(0x2000_pa));
    CHECK_FALSE(pr(0x1000, 0x1000).contains(0x1000_pa));
    // Near the top of the space.
    const auto top = vr(kTop - 0x1000, kTop);
    CHECK(top.contains(VirtualAddress(kTop - 1)));
    CHECK_FALSE(top.contains(VirtualAddress(kTop)));
}

TEST_CASE("contains a range") {
    const auto range = pr(0x1000, 0x3000);
    CHECK(range.contains(range));
    CHECK(range.contains(pr(0x1000, 0x2000)));
    CHECK(range.contains(pr(0x2000, 0x3000)));
    CHECK_FALSE(range.contains(pr(0x0fff, 0x2000)));
    CHECK_FALSE(range.contains(pr(0x2000, 0x3001)));
    CHECK_FALSE(range.contains(pr(0x0000, 0x4000)));
    CHECK_FALSE(range.contains(pr(0x4000, 0x5000)));
    // Empty ranges are contained where they sit inside or at the end.
    CHECK(range.contains(pr(0x1000, 0x1000)));
    CHECK(range.contains(pr(0x2000, 0x2000)));
    CHECK(range.contains(pr(0x3000, 0x3000)));
    CHECK_FALSE(range.contains(pr(0x3001, 0x3001)));
    CHECK_FALSE(range.contains(pr(0x0fff, 0x0fff)));
}

TEST_CASE("overlaps is symmetric and ignores touching and empty ranges") {
    struct Case {
        PhysicalRange a, b;
        bool overlap;
    };
    const Case cases[] = {
        {pr(0x1000, 0x2000), pr(0x2000, 0x3000), false},  // touching
        {pr(0x1000, 0x2000), pr(0x1fff, 0x3000), true},
        {pr(0x1000, 0x2000), pr(0x0000, 0x1001), true},
        {pr(0x1000, 0x2000), pr(0x0000, 0x1000), false},
        {pr(0x1000, 0x4000), pr(0x2000, 0x3000), true},  // nested
        {pr(0x1000, 0x2000), pr(0x1000, 0x2000), true},  // equal
        {pr(0x1000, 0x2000), pr(0x1800, 0x1800), false},  // empty inside
        {pr(0x1000, 0x1000), pr(0x1000, 0x1000), false},
        {pr(0x1000, 0x2000), pr(0x5000, 0x6000), false},
        {pr(kTop - 10, kTop), pr(kTop - 1, kTop), true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.a.begin().value());
        CAPTURE(c.b.begin().value());
        CHECK(c.a.overlaps(c.b) == c.overlap);
        CHECK(c.b.overlaps(c.a) == c.overlap);
    }
}

TEST_CASE("intersection") {
    CHECK(pr(0x1000, 0x3000).intersection(pr(0x2000, 0x4000)) == pr(0x2000, 0x3000));
    CHECK(pr(0x2000, 0x4000).intersection(pr(0x1000, 0x3000)) == pr(0x2000, 0x3000));
    CHECK(pr(0x1000, 0x4000).intersection(pr(0x2000, 0x3000)) == pr(0x2000, 0x3000));
    CHECK(pr(0x2000, 0x3000).intersection(pr(0x1000, 0x4000)) == pr(0x2000, 0x3000));
    CHECK(pr(0x1000, 0x2000).intersection(pr(0x2000, 0x3000)).empty());
    CHECK(pr(0x1000, 0x2000).intersection(pr(0x8000, 0x9000)).empty());
    CHECK(pr(0x1000, 0x2000).intersection(pr(0x1800, 0x1800)).empty());
    CHECK(vr(kTop - 0x3000, kTop).intersection(vr(kTop - 0x1000, kTop)) == vr(kTop - 0x1000, kTop));
}

TEST_CASE("subtract leaves zero, one or two pieces") {
    SUBCASE("zero: covered entirely") {
        CHECK(pr(0x2000, 0x3000).subtract(pr(0x1000, 0x4000)).count == 0);
        CHECK(pr(0x2000, 0x3000).subtract(pr(0x2000, 0x3000)).count == 0);
        CHECK(pr(0x2000, 0x2000).subtract(pr(0x8000, 0x9000)).count == 0);  // empty minus anything
    }
    SUBCASE("one: no overlap gives the range back") {
        auto d = pr(0x2000, 0x3000).subtract(pr(0x3000, 0x4000));
        REQUIRE(d.count == 1);
        CHECK(d.pieces[0] == pr(0x2000, 0x3000));
        auto e = pr(0x2000, 0x3000).subtract(pr(0x2800, 0x2800));
        REQUIRE(e.count == 1);
        CHECK(e.pieces[0] == pr(0x2000, 0x3000));
    }
    SUBCASE("one: cut at the low end") {
        auto d = pr(0x2000, 0x5000).subtract(pr(0x1000, 0x3000));
        REQUIRE(d.count == 1);
        CHECK(d.pieces[0] == pr(0x3000, 0x5000));
    }
    SUBCASE("one: cut at the high end") {
        auto d = pr(0x2000, 0x5000).subtract(pr(0x4000, 0x9000));
        REQUIRE(d.count == 1);
        CHECK(d.pieces[0] == pr(0x2000, 0x4000));
    }
    SUBCASE("two: hole in the middle, iterable") {
        auto d = pr(0x1000, 0x9000).subtract(pr(0x3000, 0x4000));
        REQUIRE(d.count == 2);
        std::vector<PhysicalRange> pieces(d.begin(), d.end());
        REQUIRE(pieces.size() == 2);
        CHECK(pieces[0] == pr(0x1000, 0x3000));
        CHECK(pieces[1] == pr(0x4000, 0x9000));
    }
    SUBCASE("two: at the top of the space") {
        auto d = vr(kTop - 0x3000, kTop).subtract(vr(kTop - 0x2000, kTop - 0x1000));
        REQUIRE(d.count == 2);
        CHECK(d.pieces[0] == vr(kTop - 0x3000, kTop - 0x2000));
        CHECK(d.pieces[1] == vr(kTop - 0x1000, kTop));
    }
}

TEST_CASE("pages of an aligned range") {
    CHECK(page_list(pr(0x1000, 0x4000), 4_KiB) == std::vector<std::uint64_t>{0x1000, 0x2000, 0x3000});
    CHECK(pr(0x1000, 0x4000).pages().count() == 3);
    CHECK(page_list(pr(0x1000, 0x1000), 4_KiB).empty());
    CHECK(pr(0x1000, 0x1000).pages().count() == 0);
}

TEST_CASE("pages round the ends outward") {
    // One byte on each side of a boundary touches both pages.
    CHECK(page_list(pr(0x1fff, 0x2001), 4_KiB) == std::vector<std::uint64_t>{0x1000, 0x2000});
    CHECK(page_list(pr(0x1001, 0x1002), 4_KiB) == std::vector<std::uint64_t>{0x1000});
    CHECK(page_list(pr(0x1000, 0x2001), 4_KiB) == std::vector<std::uint64_t>{0x1000, 0x2000});
    CHECK(page_list(pr(0x0fff, 0x2000), 4_KiB) == std::vector<std::uint64_t>{0x0000, 0x1000});
    CHECK(pr(0x1fff, 0x2001).pages().count() == 2);
}

TEST_CASE("pages at 2 MiB and 1 GiB granularity") {
    CHECK(page_list(vr(0x1f'f000, 0x20'1000), 2_MiB) == std::vector<std::uint64_t>{0, 2_MiB});
    CHECK(page_list(vr(2_MiB, 4_MiB), 2_MiB) == std::vector<std::uint64_t>{2_MiB});
    CHECK(page_list(vr(2_MiB, 4_MiB + 1), 2_MiB) == std::vector<std::uint64_t>{2_MiB, 4_MiB});
    CHECK(page_list(pr(0x8000'0000, 0x8000'1000), 1_GiB) == std::vector<std::uint64_t>{2_GiB});
    CHECK(page_list(pr(1_GiB - 1, 1_GiB + 1), 1_GiB) == std::vector<std::uint64_t>{0, 1_GiB});
    CHECK(pr(0x8000'0000, 0x1'8000'0000).pages(1_GiB).count() == 4);
}

TEST_CASE("pages up to the top of the space stop after the last page") {
    // Rounding end up wraps to 0 here; the iteration must still end.
    CHECK(page_list(vr(kTop - 0x1fff, kTop), 4_KiB) == std::vector<std::uint64_t>{kTop - 0x1fff, kTop - 0xfff});
    CHECK(vr(kTop - 0x1fff, kTop).pages().count() == 2);
    CHECK(page_list(vr(kTop - 10, kTop - 5), 4_KiB) == std::vector<std::uint64_t>{kTop - 0xfff});
    CHECK(page_list(vr(kTop - 1, kTop), 2_MiB) == std::vector<std::uint64_t>{kTop - (2_MiB - 1)});
    CHECK(page_list(vr(kTop - 1_GiB, kTop), 1_GiB) == std::vector<std::uint64_t>{kTop - (2_GiB - 1), kTop - (1_GiB - 1)});
    CHECK(vr(kTop - 1_GiB, kTop).pages(1_GiB).count() == 2);
}

TEST_CASE("is_aligned at 4 KiB, 2 MiB and 1 GiB") {
    CHECK(pr(0x1000, 0x3000).is_aligned(4_KiB));
    CHECK_FALSE(pr(0x1000, 0x3000).is_aligned(2_MiB));
    CHECK_FALSE(pr(0x1000, 0x3001).is_aligned(4_KiB));
    CHECK(vr(2_MiB, 6_MiB).is_aligned(2_MiB));
    CHECK_FALSE(vr(2_MiB, 6_MiB).is_aligned(1_GiB));
    CHECK(vr(1_GiB, 3_GiB).is_aligned(1_GiB));
    CHECK_FALSE(vr(1_GiB, 3_GiB + 4_KiB).is_aligned(1_GiB));
}

TEST_CASE("format") {
    CHECK(text_of(pr(0x8000'0000, 0x8020'0000)) == "[0x80000000, 0x80200000)");
    CHECK(text_of(vr(0, 0)) == "[0x0, 0x0)");
    CHECK(text_of(vr(kTop - 0xfff, kTop)) == "[0xfffffffffffff000, 0xffffffffffffffff)");
}
