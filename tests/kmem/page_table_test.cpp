#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kmem/array_memory.hpp"
#include "kmem/page_table.hpp"
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

using loader_api::host::text_of;

using Memory = ArrayMemory<1024>;


// A fresh table over its own simulated memory (on the heap: 4 MiB of frames).
template <class Mode>
struct Fixture {
    std::unique_ptr<Memory> memory = std::make_unique<Memory>();
    PageTable<Mode, Memory> table;
    Fixture() {
        auto created = PageTable<Mode, Memory>::create(*memory);
        REQUIRE(created);
        table = std::move(*created);
    }

    std::vector<Leaf> leaves() const {
        std::vector<Leaf> result;
        table.for_each_leaf([&](const Leaf& leaf) { result.push_back(leaf); });
        return result;
    }
    std::vector<Mapping> mappings() const {
        std::vector<Mapping> result;
        table.walk([&](const Mapping& mapping) { result.push_back(mapping); });
        return result;
    }
    std::vector<std::uint64_t> raw_entries() const {
        std::vector<std::uint64_t> result;
        table.for_each_table([&](PhysicalAddress frame, unsigned) {
            const std::uint64_t* slots = memory->pointer(frame);
            result.push_back(frame.value());
            result.insert(result.end(), slots, slots + 512);
        });
        return result;
    }
    // Table frames as counted three ways must agree.
    void check_frame_accounting() const {
        std::uint64_t visited = 0;
        table.for_each_table([&](PhysicalAddress, unsigned) { ++visited; });
        CHECK(visited == table.table_frames());
        CHECK(memory->live_frames() == table.table_frames());
        CHECK(minimum_table_frames<Mode>(leaves()) == table.table_frames());
    }
};

struct ExpectedLeaf {
    std::uint64_t va, pa, size;
};

template <class Mode>
void check_leaves(const Fixture<Mode>& fixture, const std::vector<ExpectedLeaf>& expected) {
    const auto leaves = fixture.leaves();
    REQUIRE(leaves.size() == expected.size());
    for (std::size_t i = 0; i < leaves.size(); ++i) {
        CAPTURE(i);
        CHECK(leaves[i].va.value() == expected[i].va);
        CHECK(leaves[i].pa.value() == expected[i].pa);
        CHECK(leaves[i].size == expected[i].size);
    }
}

constexpr PageFlags kRw = PageFlags::read_write();
constexpr PageFlags kRo = PageFlags::read_only();
constexpr PageFlags kRx = PageFlags::read_execute();

// Levels of tables below the root a leaf at `level` needs.
template <class Mode>
constexpr std::uint64_t tables_for_one_leaf(unsigned level) {
    return 1 + (Mode::kLevels - 1 - level);
}

}  // namespace

TEST_CASE_TEMPLATE("a fresh table owns its root only", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    CHECK(f.table.table_frames() == 1);
    CHECK(f.memory->live_frames() == 1);
    CHECK(f.table.root() == 0x8000'0000_pa);  // ArrayMemory hands out its lowest frame first
    CHECK(f.table.satp(5) == ((Mode::kSatpMode << 60) | (5ull << 44) | 0x80000));
    CHECK(f.leaves().empty());
    const auto miss = f.table.translate(0x1000_va);
    REQUIRE_FALSE(miss);
    CHECK(miss.error().code == PageTableErrorCode::NotMapped);
    CHECK(f.table.map(0x1000_va, 0x1000_pa, 0, kRw));  // empty: accepted, nothing changes
    CHECK(f.table.table_frames() == 1);
}

TEST_CASE("create reports a memory without frames") {
    ArrayMemory<1> memory;
    memory.set_limit(0);
    const auto created = PageTable<Sv48, ArrayMemory<1>>::create(memory);
    REQUIRE_FALSE(created);
    CHECK(created.error().code == PageTableErrorCode::OutOfFrames);
    CHECK(text_of(created.error()) == "page table Sv48: create: no frame for the root table");
}

TEST_CASE_TEMPLATE("a 1 GiB aligned range is exactly one leaf", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x4000'0000_va, 0x1'8000'0000_pa, 1_GiB, kRw));
    check_leaves(f, {{0x4000'0000, 0x1'8000'0000, 1_GiB}});
    CHECK(f.leaves()[0].level == 2);
    CHECK(f.table.table_frames() == tables_for_one_leaf<Mode>(2));
    const auto t = f.table.translate(0x5234'5678_va);
    REQUIRE(t);
    CHECK(t->pa == 0x1'9234'5678_pa);
    CHECK(t->page_size == 1_GiB);
    CHECK(t->level == 2);
    CHECK(t->flags == kRw);
    f.check_frame_accounting();
}

TEST_CASE_TEMPLATE("a misaligned pa falls back to smaller pages", Mode, Sv39, Sv48, Sv57) {
    SUBCASE("2 MiB aligned pa: 2 MiB pages") {
        Fixture<Mode> f;
        REQUIRE(f.table.map(0x4000'0000_va, 0x8020'0000_pa, 1_GiB, kRw));
        const auto leaves = f.leaves();
        REQUIRE(leaves.size() == 512);
        for (std::size_t i = 0; i < leaves.size(); ++i) {
            CHECK(leaves[i].level == 1);
            CHECK(leaves[i].va.value() == 0x4000'0000 + i * 2_MiB);
            CHECK(leaves[i].pa.value() == 0x8020'0000 + i * 2_MiB);
        }
        // One table of 2 MiB leaves more than the single 1 GiB leaf needs.
        CHECK(f.table.table_frames() == tables_for_one_leaf<Mode>(1));
        f.check_frame_accounting();
    }
    SUBCASE("4 KiB aligned pa: 4 KiB pages") {
        Fixture<Mode> f;
        REQUIRE(f.table.map(0x4000'0000_va, 0x8000'1000_pa, 4_MiB, kRw));
        const auto leaves = f.leaves();
        REQUIRE(leaves.size() == 1024);
        for (const auto& leaf : leaves) CHECK(leaf.level == 0);
        CHECK(leaves.back().pa == 0x8040'0000_pa);
        CHECK(f.table.table_frames() == tables_for_one_leaf<Mode>(0) + 1);  // two level-0 tables
        f.check_frame_accounting();
    }
    SUBCASE("a misaligned va is the same") {
        Fixture<Mode> f;
        REQUIRE(f.table.map(0x4000'1000_va, 0x8000'0000_pa, 2_MiB, kRw));
        CHECK(f.leaves().size() == 512);
    }
}

TEST_CASE_TEMPLATE("superpages in the middle, small pages at the edges", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    // [1 GiB - 2 MiB - 4 KiB, 3 GiB + 2 MiB + 4 KiB), pa 1 GiB above va.
    const std::uint64_t va = 1_GiB - 2_MiB - 4_KiB;
    const std::uint64_t size = 2_GiB + 4_MiB + 8_KiB;
    const std::uint64_t delta = 1_GiB;
    REQUIRE(f.table.map(VirtualAddress(va), PhysicalAddress(va + delta), size, kRx));
    check_leaves(f, {
                        {0x3fdf'f000, 0x3fdf'f000 + delta, 4_KiB},
                        {0x3fe0'0000, 0x3fe0'0000 + delta, 2_MiB},
                        {0x4000'0000, 0x4000'0000 + delta, 1_GiB},
                        {0x8000'0000, 0x8000'0000 + delta, 1_GiB},
                        {0xc000'0000, 0xc000'0000 + delta, 2_MiB},
                        {0xc020'0000, 0xc020'0000 + delta, 4_KiB},
                    });
    // One coalesced mapping, since va and pa run on and the flags agree.
    const auto mappings = f.mappings();
    REQUIRE(mappings.size() == 1);
    CHECK(mappings[0] == Mapping{VirtualAddress(va), PhysicalAddress(va + delta), size, kRx});
    f.check_frame_accounting();
}

TEST_CASE("the mode's largest pages") {
    SUBCASE("Sv48: 512 GiB") {
        Fixture<Sv48> f;
        REQUIRE(f.table.map(VirtualAddress(512_GiB), PhysicalAddress(1024_GiB), 512_GiB, kRw));
        check_leaves(f, {{512_GiB, 1024_GiB, 512_GiB}});
        CHECK(f.leaves()[0].level == 3);
        CHECK(f.table.table_frames() == 1);
        CHECK(f.table.translate(VirtualAddress(1024_GiB - 1))->pa == PhysicalAddress(1536_GiB - 1));
    }
    SUBCASE("Sv57: 256 TiB") {
        Fixture<Sv57> f;
        REQUIRE(f.table.map(VirtualAddress(256_TiB), PhysicalAddress(256_TiB), 256_TiB, kRw));
        CHECK(f.leaves().size() == 1);
        CHECK(f.leaves()[0].level == 4);
        CHECK(f.table.table_frames() == 1);
        // Sv39's and Sv48's largest page sizes exist in Sv57 too, one level lower each.
        REQUIRE(f.table.map(VirtualAddress(1024_GiB), PhysicalAddress(512_GiB), 512_GiB, kRw));
        CHECK(f.leaves()[0].level == 3);
        CHECK(f.table.table_frames() == 2);
    }
    SUBCASE("Sv39 has nothing above 1 GiB") {
        Fixture<Sv39> f;
        REQUIRE(f.table.map(VirtualAddress(0), PhysicalAddress(0), 4_GiB, kRw));
        CHECK(f.leaves().size() == 4);
        CHECK(f.table.table_frames() == 1);
    }
}

TEST_CASE_TEMPLATE("the top of the address space", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    const std::uint64_t lower_end = std::uint64_t{1} << (Mode::kVaBits - 1);
    const std::uint64_t upper_begin = 0 - lower_end;

    // Highest canonical pages of both halves, and the first of the upper half.
    REQUIRE(f.table.map(VirtualAddress(0 - 4_KiB), 0x9000'0000_pa, 4_KiB, kRw));
    REQUIRE(f.table.map(VirtualAddress(lower_end - 4_KiB), 0x9000'1000_pa, 4_KiB, kRw));
    REQUIRE(f.table.map(VirtualAddress(upper_begin), 0x9000'2000_pa, 4_KiB, kRw));
    CHECK(f.table.translate(VirtualAddress(~0ull))->pa == 0x9000'0fff_pa);
    CHECK(f.table.translate(VirtualAddress(lower_end - 1))->pa == 0x9000'1fff_pa);
    CHECK(f.table.translate(VirtualAddress(upper_begin))->pa == 0x9000'2000_pa);
    // walk goes lower half first, then the upper half in ascending order.
    check_leaves(f, {{lower_end - 4_KiB, 0x9000'1000, 4_KiB},
                     {upper_begin, 0x9000'2000, 4_KiB},
                     {0 - 4_KiB, 0x9000'0000, 4_KiB}});
    f.check_frame_accounting();

    // Non-canonical addresses on either side of the hole.
    for (const std::uint64_t bad : {lower_end, upper_begin - 4_KiB, lower_end + 1_GiB}) {
        CAPTURE(bad);
        const auto result = f.table.map(VirtualAddress(bad), 0x1000_pa, 4_KiB, kRw);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == PageTableErrorCode::NonCanonical);
        CHECK(result.error().va == VirtualAddress(bad));
        const auto t = f.table.translate(VirtualAddress(bad));
        REQUIRE_FALSE(t);
        CHECK(t.error().code == PageTableErrorCode::NonCanonical);
    }
    // A range that runs off the lower half names the first address outside.
    const auto across = f.table.map(VirtualAddress(lower_end - 8_KiB), 0x1000_pa, 16_KiB, kRw);
    REQUIRE_FALSE(across);
    CHECK(across.error().code == PageTableErrorCode::NonCanonical);
    CHECK(across.error().va == VirtualAddress(lower_end));
    CHECK(across.error().pa == 0x3000_pa);
    // One past the very top wraps.
    const auto wrap = f.table.map(VirtualAddress(0 - 4_KiB), 0x1000_pa, 8_KiB, kRw);
    REQUIRE_FALSE(wrap);
    CHECK(wrap.error().code == PageTableErrorCode::AddressOverflow);
    // None of the failures changed anything.
    CHECK(f.leaves().size() == 3);

    // The top 1 GiB as one superpage, then unmapped to the last byte.
    Fixture<Mode> g;
    REQUIRE(g.table.map(VirtualAddress(0 - 1_GiB), 0x4000'0000_pa, 1_GiB, kRw));
    check_leaves(g, {{0 - 1_GiB, 0x4000'0000, 1_GiB}});
    REQUIRE(g.table.unmap(VirtualAddress(0 - 2_MiB), 2_MiB));
    CHECK(g.leaves().size() == 511);
    CHECK(g.table.translate(VirtualAddress(0 - 2_MiB - 1))->pa == 0x7fdf'ffff_pa);
    CHECK_FALSE(g.table.translate(VirtualAddress(0 - 2_MiB)));
    g.check_frame_accounting();
    REQUIRE(g.table.unmap(VirtualAddress(0 - 1_GiB), 1_GiB - 2_MiB));
    CHECK(g.table.table_frames() == 1);
    CHECK(g.memory->live_frames() == 1);
}

TEST_CASE_TEMPLATE("4 KiB pages on both sides of 2 MiB and 1 GiB boundaries", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(VirtualAddress(2_MiB - 4_KiB), 0x10'0000_pa, 8_KiB, kRw));
    REQUIRE(f.table.map(VirtualAddress(1_GiB - 4_KiB), 0x20'0000_pa, 8_KiB, kRo));
    check_leaves(f, {{2_MiB - 4_KiB, 0x10'0000, 4_KiB},
                     {2_MiB, 0x10'1000, 4_KiB},
                     {1_GiB - 4_KiB, 0x20'0000, 4_KiB},
                     {1_GiB, 0x20'1000, 4_KiB}});
    // Sv39: root, a level-1 table for each GiB, four level-0 tables.
    CHECK(f.table.table_frames() == (Mode::kLevels - 3) + 1 + 2 + 4);
    CHECK(f.table.translate(VirtualAddress(2_MiB - 1))->pa == 0x10'0fff_pa);
    CHECK(f.table.translate(VirtualAddress(2_MiB))->pa == 0x10'1000_pa);
    CHECK_FALSE(f.table.translate(VirtualAddress(2_MiB + 4_KiB)));
    CHECK_FALSE(f.table.translate(VirtualAddress(2_MiB - 8_KiB)));
    CHECK(f.table.translate(VirtualAddress(1_GiB))->flags == kRo);
    f.check_frame_accounting();
}

TEST_CASE("write+execute needs an explicit allowance") {
    Fixture<Sv39> f;
    const PageFlags rwx{.read = true, .write = true, .execute = true};
    const auto refused = f.table.map(0x1000_va, 0x1000_pa, 4_KiB, rwx);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == PageTableErrorCode::WriteExecute);
    CHECK(refused.error().va == 0x1000_va);
    CHECK(text_of(refused.error()) ==
          "page table Sv39: map 0x1000 +4 KiB -> 0x1000 rwx--: writable and executable without allow_write_execute");
    CHECK(f.leaves().empty());

    PageFlags allowed = rwx;
    allowed.allow_write_execute = true;
    REQUIRE(f.table.map(0x1000_va, 0x1000_pa, 4_KiB, allowed));
    const auto t = f.table.translate(0x1000_va);
    CHECK(t->flags == allowed);
    CHECK(t->pte.dirty());

    // protect refuses it too.
    REQUIRE(f.table.map(0x2000_va, 0x2000_pa, 4_KiB, kRw));
    const auto protect = f.table.protect(0x2000_va, 4_KiB, rwx);
    REQUIRE_FALSE(protect);
    CHECK(protect.error().code == PageTableErrorCode::WriteExecute);
    CHECK(f.table.translate(0x2000_va)->flags == kRw);
}

TEST_CASE("argument errors carry the failing addresses") {
    Fixture<Sv39> f;
    REQUIRE(f.table.map(0x20'0000_va, 0x8000'0000_pa, 4_MiB, kRw));
    const auto before = f.raw_entries();

    SUBCASE("already mapped") {
        const auto e = f.table.map(0x10'0000_va, 0x9000'0000_pa, 2_MiB, kRo);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::AlreadyMapped);
        CHECK(e.error().va == 0x20'0000_va);
        CHECK(e.error().pa == 0x8000'0000_pa);
        CHECK(e.error().request_va == 0x10'0000_va);
        CHECK(e.error().request_size == 2_MiB);
        CHECK(text_of(e.error()) ==
              "page table Sv39: map 0x100000 +2 MiB -> 0x90000000 r----: 0x200000 is already mapped (to 0x80000000)");
        // Overlap in the middle of a 2 MiB leaf names the page inside it.
        const auto inside = f.table.map(0x30'0000_va, 0x9000'0000_pa, 4_KiB, kRo);
        REQUIRE_FALSE(inside);
        CHECK(inside.error().pa == 0x8010'0000_pa);
    }
    SUBCASE("misaligned") {
        for (const auto& [va, pa, size] : {std::tuple{0x1'0800_va, 0x1000_pa, 4_KiB},
                                           std::tuple{0x1'0000_va, 0x1001_pa, 4_KiB},
                                           std::tuple{0x1'0000_va, 0x1000_pa, 4_KiB + 1}}) {
            const auto e = f.table.map(va, pa, size, kRo);
            REQUIRE_FALSE(e);
            CHECK(e.error().code == PageTableErrorCode::Misaligned);
        }
        const auto unmap = f.table.unmap(0x20'0000_va, 100);
        REQUIRE_FALSE(unmap);
        CHECK(unmap.error().code == PageTableErrorCode::Misaligned);
        CHECK(text_of(unmap.error()) ==
              "page table Sv39: unmap 0x200000 +100 B: address and size must be multiples of 4 KiB");
    }
    SUBCASE("invalid flags") {
        const auto e = f.table.map(0x1000_va, 0x1000_pa, 4_KiB, {.write = true});
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::InvalidFlags);
        CHECK(text_of(e.error()) ==
              "page table Sv39: map 0x1000 +4 KiB -> 0x1000 -w---: writable but not readable (R=0 W=1 is reserved)");
        const auto none = f.table.protect(0x20'0000_va, 4_KiB, {.user = true});
        REQUIRE_FALSE(none);
        CHECK(none.error().code == PageTableErrorCode::InvalidFlags);
    }
    SUBCASE("physical overflow and range") {
        const auto wrap = f.table.map(0x1000_va, PhysicalAddress(0 - 4_KiB), 8_KiB, kRo);
        REQUIRE_FALSE(wrap);
        CHECK(wrap.error().code == PageTableErrorCode::AddressOverflow);
        // The second page would be the first beyond 2^56.
        const auto beyond = f.table.map(0x1000_va, PhysicalAddress((1ull << 56) - 4_KiB), 8_KiB, kRo);
        REQUIRE_FALSE(beyond);
        CHECK(beyond.error().code == PageTableErrorCode::PhysicalOutOfRange);
        CHECK(beyond.error().va == 0x2000_va);
        CHECK(beyond.error().pa == PhysicalAddress(1ull << 56));
        // The last page below 2^56 is fine.
        CHECK(f.table.map(0x1000_va, PhysicalAddress((1ull << 56) - 4_KiB), 4_KiB, kRo));
        CHECK(f.table.unmap(0x1000_va, 4_KiB));
    }
    SUBCASE("non-canonical message") {
        const auto e = f.table.map(0x40'0000'0000_va, 0x1000_pa, 4_KiB, kRo);
        REQUIRE_FALSE(e);
        CHECK(text_of(e.error()) ==
              "page table Sv39: map 0x4000000000 +4 KiB -> 0x1000 r----: 0x4000000000 is not canonical");
    }
    CHECK(f.raw_entries() == before);
}

TEST_CASE_TEMPLATE("running out of frames while mapping leaves the table as it was", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x1000_va, 0x1000_pa, 4_KiB, kRw));
    REQUIRE(f.table.map(VirtualAddress(0 - 4_KiB), 0x2000_pa, 4_KiB, kRw));
    const auto before = f.raw_entries();
    const auto frames = f.table.table_frames();
    // 8 MiB of 4 KiB pages from 1 GiB - 4 MiB needs tables under two different
    // 1 GiB entries; allow a few frames so the failure comes after some leaves.
    for (std::size_t extra = 0; extra < 5; ++extra) {
        CAPTURE(extra);
        f.memory->set_limit(frames + extra);
        const auto e = f.table.map(VirtualAddress(1_GiB - 4_MiB), 0x1'0000'1000_pa, 8_MiB, kRo);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::OutOfFrames);
        // The first address whose table was refused: its pa matches it.
        CHECK(e.error().pa.value() - e.error().va.value() == 0x1'0000'1000 - (1_GiB - 4_MiB));
        CHECK(f.raw_entries() == before);
        CHECK(f.table.table_frames() == frames);
        CHECK(f.memory->live_frames() == frames);
    }
    f.memory->set_limit(1024);
    CHECK(f.table.map(VirtualAddress(1_GiB - 4_MiB), 0x1'0000'1000_pa, 8_MiB, kRo));
    f.check_frame_accounting();
}

// map() takes a shortcut for one good 4 KiB page; a bad one must still get
// the error the general checks give, the earliest problem first.
TEST_CASE_TEMPLATE("one 4 KiB page: the same errors in the same order as any range", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x20'0000_va, 0x8000'0000_pa, 2_MiB, kRw));
    REQUIRE(f.table.map(0x40'0000_va, 0x9000'0000_pa, 4_KiB, kRw));
    const auto before = f.raw_entries();
    const VirtualAddress hole(std::uint64_t{1} << (Mode::kVaBits - 1));  // first non-canonical address
    const PhysicalAddress beyond(std::uint64_t{1} << 56);
    const PageFlags rwx{.read = true, .write = true, .execute = true};
    struct Case {
        VirtualAddress va;
        PhysicalAddress pa;
        PageFlags flags;
        PageTableErrorCode code;
        VirtualAddress error_va;
        PhysicalAddress error_pa;
    };
    const Case cases[] = {
        {hole + 0x800, beyond + 0x800, {.write = true}, PageTableErrorCode::InvalidFlags, hole + 0x800, beyond + 0x800},
        {hole + 0x800, beyond + 0x800, rwx, PageTableErrorCode::WriteExecute, hole + 0x800, beyond + 0x800},
        {hole + 0x800, beyond, kRw, PageTableErrorCode::Misaligned, hole + 0x800, beyond},
        {hole, beyond + 0x800, kRw, PageTableErrorCode::Misaligned, hole, beyond + 0x800},
        {hole, beyond, kRw, PageTableErrorCode::NonCanonical, hole, beyond},
        {0x1000_va, beyond, kRw, PageTableErrorCode::PhysicalOutOfRange, 0x1000_va, beyond},
        {0x1000_va, PhysicalAddress(0 - 4_KiB), kRw, PageTableErrorCode::PhysicalOutOfRange, 0x1000_va,
         PhysicalAddress(0 - 4_KiB)},
        {0x30'1000_va, 0x1000_pa, kRw, PageTableErrorCode::AlreadyMapped, 0x30'1000_va, 0x8010'1000_pa},
        {0x40'0000_va, 0x1000_pa, kRw, PageTableErrorCode::AlreadyMapped, 0x40'0000_va, 0x9000'0000_pa},
    };
    for (const Case& c : cases) {
        CAPTURE(c.va);
        CAPTURE(c.pa);
        const auto e = f.table.map(c.va, c.pa, 4_KiB, c.flags);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == c.code);
        CHECK(e.error().operation == PageTableOperation::Map);
        CHECK(e.error().va == c.error_va);
        CHECK(e.error().pa == c.error_pa);
        CHECK(e.error().request_va == c.va);
        CHECK(e.error().request_size == 4_KiB);
        CHECK(e.error().request_pa == c.pa);
        CHECK(e.error().flags == c.flags);
    }
    CHECK(f.raw_entries() == before);
}

TEST_CASE_TEMPLATE("unmap", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x4000'0000_va, 0x8000'0000_pa, 1_GiB, kRw));
    REQUIRE(f.table.map(0x8000'0000_va, 0x1'0000'0000_pa, 8_KiB, kRo));

    SUBCASE("a hole is an error and nothing changes") {
        const auto before = f.raw_entries();
        const auto e = f.table.unmap(0x7fff'f000_va, 16_KiB);  // last 4 KiB, 8 KiB, then a hole
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::NotMapped);
        CHECK(e.error().va == 0x8000'2000_va);
        CHECK(text_of(e.error()) == std::string("page table ") + std::string(Mode::kName) +
                                          ": unmap 0x7ffff000 +16 KiB: 0x80002000 is not mapped");
        CHECK(f.raw_entries() == before);
    }
    SUBCASE("the middle of a 1 GiB page") {
        REQUIRE(f.table.unmap(0x4020'1000_va, 2_MiB));
        // 1 GiB -> 2 MiB pages; the two 2 MiB pages at the edges -> 4 KiB pages.
        CHECK(f.leaves().size() == 510 + 511 + 1 + 2);
        CHECK(f.table.translate(0x4020'0fff_va)->pa == 0x8020'0fff_pa);
        CHECK_FALSE(f.table.translate(0x4020'1000_va));
        CHECK_FALSE(f.table.translate(0x4040'0fff_va));
        CHECK(f.table.translate(0x4040'1000_va)->pa == 0x8040'1000_pa);
        CHECK(f.table.translate(0x4040'1000_va)->level == 0);
        CHECK(f.table.translate(0x7fff'ffff_va)->level == 1);
        f.check_frame_accounting();
        // The mapping around the hole still coalesces.
        const auto mappings = f.mappings();
        REQUIRE(mappings.size() == 3);
        CHECK(mappings[0] == Mapping{0x4000'0000_va, 0x8000'0000_pa, 2_MiB + 4_KiB, kRw});
        CHECK(mappings[1] == Mapping{0x4040'1000_va, 0x8040'1000_pa, 1_GiB - 4_MiB - 4_KiB, kRw});
    }
    SUBCASE("everything: tables are freed") {
        REQUIRE(f.table.unmap(0x4000'0000_va, 1_GiB + 8_KiB));
        CHECK(f.leaves().empty());
        CHECK(f.table.table_frames() == 1);
        CHECK(f.memory->live_frames() == 1);
    }
    SUBCASE("splitting needs frames; without them nothing changes") {
        const auto before = f.raw_entries();
        const auto frames = f.table.table_frames();
        f.memory->set_limit(frames + 1);  // one split, not both
        const auto e = f.table.unmap(0x4000'1000_va, 4_KiB);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::OutOfFrames);
        CHECK(e.error().va == 0x4000'1000_va);
        CHECK(f.raw_entries() == before);
        CHECK(f.memory->live_frames() == frames);
        // With two, the 1 GiB page splits to 2 MiB and the first 2 MiB to 4 KiB.
        f.memory->set_limit(frames + 2);
        REQUIRE(f.table.unmap(0x4000'1000_va, 4_KiB));
        CHECK(f.table.table_frames() == frames + 2);
        f.check_frame_accounting();
    }
    SUBCASE("unmapping at the end of a split keeps what is left") {
        REQUIRE(f.table.unmap(0x8000'1000_va, 4_KiB));
        REQUIRE(f.table.unmap(0x8000'0000_va, 4_KiB));
        CHECK_FALSE(f.table.translate(0x8000'0000_va));
        CHECK(f.leaves().size() == 1);
        // 0x8000'0000 lies under its own 1 GiB entry, whose tables are gone again.
        CHECK(f.table.table_frames() == tables_for_one_leaf<Mode>(2));
        f.check_frame_accounting();
    }
}

TEST_CASE_TEMPLATE("protect", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x4000'0000_va, 0x8000'0000_pa, 1_GiB, kRw));

    SUBCASE("splits at the edges only") {
        REQUIRE(f.table.protect(0x4000'3000_va, 4_MiB, kRo));
        CHECK(f.table.translate(0x4000'2fff_va)->flags == kRw);
        CHECK(f.table.translate(0x4000'3000_va)->flags == kRo);
        CHECK(f.table.translate(0x4020'0000_va)->flags == kRo);
        CHECK(f.table.translate(0x4020'0000_va)->level == 1);  // a whole 2 MiB page inside keeps its size
        CHECK(f.table.translate(0x4040'2fff_va)->flags == kRo);
        CHECK(f.table.translate(0x4040'3000_va)->flags == kRw);
        CHECK(f.table.translate(0x4040'3000_va)->pa == 0x8040'3000_pa);
        const auto mappings = f.mappings();
        REQUIRE(mappings.size() == 3);
        CHECK(mappings[0] == Mapping{0x4000'0000_va, 0x8000'0000_pa, 12_KiB, kRw});
        CHECK(mappings[1] == Mapping{0x4000'3000_va, 0x8000'3000_pa, 4_MiB, kRo});
        CHECK(mappings[2] == Mapping{0x4040'3000_va, 0x8040'3000_pa, 1_GiB - 4_MiB - 12_KiB, kRw});
        f.check_frame_accounting();
    }
    SUBCASE("the whole page keeps its size") {
        const PageFlags user_exec{.read = true, .execute = true, .user = true, .global = true};
        REQUIRE(f.table.protect(0x4000'0000_va, 1_GiB, user_exec));
        CHECK(f.leaves().size() == 1);
        const auto t = f.table.translate(0x4000'0000_va);
        CHECK(t->flags == user_exec);
        CHECK(t->pte.accessed());
        CHECK(t->pte.dirty());
    }
    SUBCASE("a hole is an error") {
        const auto e = f.table.protect(0x7fff'0000_va, 128_KiB, kRo);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::NotMapped);
        CHECK(e.error().va == 0x8000'0000_va);
        CHECK(f.table.translate(0x7fff'0000_va)->flags == kRw);
        CHECK(f.table.table_frames() == tables_for_one_leaf<Mode>(2));
    }
}

TEST_CASE("walk merges only what is contiguous and equal") {
    Fixture<Sv39> f;
    // Mapped piece by piece, contiguous in both spaces: one run.
    REQUIRE(f.table.map(0x10'0000_va, 0x50'0000_pa, 1_MiB, kRw));
    REQUIRE(f.table.map(0x20'0000_va, 0x60'0000_pa, 2_MiB, kRw));
    // Contiguous va, but pa jumps.
    REQUIRE(f.table.map(0x40'0000_va, 0x90'0000_pa, 4_KiB, kRw));
    // Contiguous in both, other flags.
    REQUIRE(f.table.map(0x40'1000_va, 0x90'1000_pa, 4_KiB, kRo));
    // A gap.
    REQUIRE(f.table.map(0x40'3000_va, 0x90'2000_pa, 4_KiB, kRo));
    const auto mappings = f.mappings();
    REQUIRE(mappings.size() == 4);
    CHECK(mappings[0] == Mapping{0x10'0000_va, 0x50'0000_pa, 3_MiB, kRw});
    CHECK(mappings[1] == Mapping{0x40'0000_va, 0x90'0000_pa, 4_KiB, kRw});
    CHECK(mappings[2] == Mapping{0x40'1000_va, 0x90'1000_pa, 4_KiB, kRo});
    CHECK(mappings[3] == Mapping{0x40'3000_va, 0x90'2000_pa, 4_KiB, kRo});
    // Pieces mapped separately are not merged into superpages: 256 + 1 + 3.
    CHECK(f.leaves().size() == 260);

    // A visitor returning false stops the walk.
    int seen = 0;
    f.table.walk([&](const Mapping&) { return ++seen < 2; });
    CHECK(seen == 2);
}

TEST_CASE("release frees every frame") {
    Fixture<Sv57> f;
    REQUIRE(f.table.map(0x1000_va, 0x1000_pa, 4_KiB, kRw));
    REQUIRE(f.table.map(VirtualAddress(0 - 4_KiB), 0x1000_pa, 4_KiB, kRw));
    CHECK(f.memory->live_frames() == 9);  // root + two chains of four
    f.table.release();
    CHECK(f.memory->live_frames() == 0);
    CHECK(f.table.table_frames() == 0);
}

TEST_CASE("move leaves the source empty") {
    Fixture<Sv39> f;
    REQUIRE(f.table.map(0x1000_va, 0x1000_pa, 4_KiB, kRw));
    PageTable<Sv39, Memory> moved = std::move(f.table);
    CHECK(moved.table_frames() == 3);
    CHECK(f.table.table_frames() == 0);
    CHECK(moved.translate(0x1000_va)->pa == 0x1000_pa);
    f.table.release();  // an empty handle: nothing to free
    CHECK(f.memory->live_frames() == 3);
}

TEST_CASE_TEMPLATE("adopt reads tables built elsewhere as they are", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    const VirtualAddress top(0 - 2_MiB - 4_KiB);
    REQUIRE(f.table.map(0x4000'0000_va, 0x4000'0000_pa, 1_GiB + 8_KiB, kRw));
    REQUIRE(f.table.map(top, 0x9000_pa, 4_KiB, kRx));
    const auto before = f.leaves();

    auto adopted = PageTable<Mode, Memory>::adopt(*f.memory, f.table.root());
    REQUIRE_MESSAGE(adopted, text_of(adopted.error()));
    CHECK(adopted->table_frames() == f.table.table_frames());
    std::vector<Leaf> after;
    adopted->for_each_leaf([&](const Leaf& leaf) { after.push_back(leaf); });
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].va == before[i].va);
        CHECK(after[i].pa == before[i].pa);
        CHECK(after[i].pte.raw() == before[i].pte.raw());
    }
    CHECK(adopted->translate(top)->pa == 0x9000_pa);
    // Changes through the adopted handle land in the same tables.
    REQUIRE(adopted->unmap(top, 4_KiB));
    CHECK(!f.table.translate(top));
}

TEST_CASE("adopt refuses entries the hardware would fault on, naming them") {
    Fixture<Sv39> f;
    REQUIRE(f.table.map(0x4020'0000_va, 0x8020'0000_pa, 2_MiB, kRw));  // one 2 MiB leaf
    REQUIRE(f.table.map(0x4000'1000_va, 0x8000'1000_pa, 4_KiB, kRw));
    const PhysicalAddress root = f.table.root();
    std::uint64_t* root_slots = f.memory->pointer(root);
    const PhysicalAddress level1 = Pte::from_raw(root_slots[1]).address();
    std::uint64_t* level1_slots = f.memory->pointer(level1);
    const PhysicalAddress level0 = Pte::from_raw(level1_slots[0]).address();
    std::uint64_t* level0_slots = f.memory->pointer(level0);

    const auto problem_of = [&](PhysicalAddress at) {
        auto adopted = PageTable<Sv39, Memory>::adopt(*f.memory, at);
        REQUIRE(!adopted);
        CHECK(adopted.error().code == PageTableErrorCode::MalformedTable);
        return adopted.error();
    };
    CHECK(problem_of(PhysicalAddress(root.value() + 8)).problem == TableProblem::RootMisaligned);

    const auto corrupt = [&](std::uint64_t* slot, std::uint64_t raw, TableProblem expected, std::uint64_t va,
                             PhysicalAddress table, unsigned level) {
        const std::uint64_t saved = *slot;
        *slot = raw;
        const PageTableError error = problem_of(root);
        CHECK(error.problem == expected);
        CHECK(error.va.value() == va);
        CHECK(error.pa == table);
        CHECK(error.level == level);
        CHECK(text_of(error).find(describe(expected)) != std::string::npos);
        *slot = saved;
        CHECK(PageTable<Sv39, Memory>::adopt(*f.memory, root));
    };
    const std::uint64_t leaf_2m = level1_slots[1];
    const std::uint64_t leaf_4k = level0_slots[1];
    corrupt(&level0_slots[1], Pte::table(level0).raw(), TableProblem::PointerAtLevel0, 0x4000'1000, level0, 0);
    corrupt(&level1_slots[1], leaf_2m | (std::uint64_t{1} << 10), TableProblem::MisalignedSuperpage, 0x4020'0000,
            level1, 1);
    corrupt(&level0_slots[1], leaf_4k & ~pte_bits::kRead, TableProblem::WriteWithoutRead, 0x4000'1000, level0, 0);
    corrupt(&level0_slots[1], leaf_4k | (std::uint64_t{1} << 56), TableProblem::ReservedBits, 0x4000'1000, level0, 0);
    corrupt(&level0_slots[1], leaf_4k | pte_bits::kPbmtMask, TableProblem::ReservedBits, 0x4000'1000, level0, 0);
    corrupt(&level0_slots[1], leaf_4k | pte_bits::kNapot, TableProblem::Napot, 0x4000'1000, level0, 0);
    corrupt(&root_slots[1], root_slots[1] | pte_bits::kAccessed, TableProblem::PointerWithLeafBits, 0x4000'0000, root,
            2);
    // The upper half's first entry is named by its canonical address.
    corrupt(&root_slots[256], Pte::table(level0).raw() | pte_bits::kUser, TableProblem::PointerWithLeafBits,
            0xffff'ffc0'0000'0000, root, 2);
}

TEST_CASE_TEMPLATE("one page: out of frames at every depth, and conflicts, change nothing", Mode, Sv39, Sv48, Sv57) {
    Fixture<Mode> f;
    REQUIRE(f.table.map(0x4000'0000_va, 0x8000'0000_pa, 2_MiB, kRw));  // a 2 MiB leaf
    const auto before = f.raw_entries();
    const auto frames = f.table.table_frames();
    // A page under a fresh top-level entry needs Mode::kLevels - 1 new tables;
    // every shortfall is refused at the page, with the tables made so far freed.
    const VirtualAddress far(0 - 1_GiB - 4_KiB);
    for (std::uint64_t extra = 0; extra + 1 < Mode::kLevels; ++extra) {
        CAPTURE(extra);
        f.memory->set_limit(frames + extra);
        const auto e = f.table.map(far, 0x9000_pa, 4_KiB, kRw);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == PageTableErrorCode::OutOfFrames);
        CHECK(e.error().va == far);
        CHECK(e.error().pa == 0x9000_pa);
        CHECK(f.raw_entries() == before);
        CHECK(f.memory->live_frames() == frames);
    }
    f.memory->set_limit(1024);
    // Inside the 2 MiB leaf: already mapped, to the leaf's frame for that page.
    const auto inside = f.table.map(0x4000'3000_va, 0x9000_pa, 4_KiB, kRw);
    REQUIRE_FALSE(inside);
    CHECK(inside.error().code == PageTableErrorCode::AlreadyMapped);
    CHECK(inside.error().pa == 0x8000'3000_pa);
    CHECK(f.raw_entries() == before);
    REQUIRE(f.table.map(far, 0x9000_pa, 4_KiB, kRw));
    const auto twice = f.table.map(far, 0xa000_pa, 4_KiB, kRw);
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == PageTableErrorCode::AlreadyMapped);
    CHECK(twice.error().pa == 0x9000_pa);
    CHECK(f.table.translate(far)->pa == 0x9000_pa);
    f.check_frame_accounting();
}
