// Page tables built during compilation: if any of these stop holding, the
// test file stops compiling. The doctest cases repeat them at run time so
// that the sanitizers see the same code paths.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "kmem/array_memory.hpp"
#include "kmem/page_table.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

// Each condition is checked on its own. A failed one calls this function,
// which is not constexpr: during compilation the error shows the call with
// the condition's text and line; at run time the doctest case prints it.
std::vector<std::string> failed_conditions;
void condition_failed(const char* condition, int line) {
    failed_conditions.push_back(std::string(condition) + " (line " + std::to_string(line) + ")");
}
#define EXPECT(condition)                             \
    do {                                              \
        if (!(condition)) {                           \
            condition_failed(#condition, __LINE__);   \
            return false;                             \
        }                                             \
    } while (false)

using Memory = ArrayMemory<8>;
using Table = PageTable<Sv39, Memory>;

// A kernel image at -2 GiB: 2 MiB + 4 KiB, pa 2 MiB aligned, so one 2 MiB
// leaf followed by one 4 KiB leaf, in root + one level-1 + one level-0 table.
constexpr bool kernel_image_translates() {
    Memory memory;
    auto table = Table::create(memory);
    EXPECT(table);
    EXPECT(table->map(0xffff'ffff'8000'0000_va, 0x8020'0000_pa, 2_MiB + 4_KiB, PageFlags::read_execute()));

    const auto in_big_page = table->translate(0xffff'ffff'801f'fff8_va);
    const auto in_small_page = table->translate(0xffff'ffff'8020'0123_va);
    EXPECT(in_big_page);
    EXPECT(in_small_page);
    EXPECT(in_big_page->pa == 0x803f'fff8_pa);
    EXPECT(in_big_page->level == 1);
    EXPECT(in_big_page->page_size == 2_MiB);
    EXPECT(in_big_page->flags == PageFlags::read_execute());
    EXPECT(in_big_page->pte.accessed());
    EXPECT(in_big_page->pte.dirty());
    EXPECT(in_small_page->pa == 0x8040'0123_pa);
    EXPECT(in_small_page->level == 0);
    EXPECT(table->table_frames() == 3);
    EXPECT(memory.live_frames() == 3);
    return true;
}
static_assert(kernel_image_translates());

// The first address past the mapping is not mapped, and the error says where.
constexpr bool unmapped_neighbour_is_an_error() {
    Memory memory;
    auto table = Table::create(memory);
    EXPECT(table);
    EXPECT(table->map(0x4000'0000_va, 0x4000'0000_pa, 1_GiB, PageFlags::read_write()));
    const auto inside = table->translate(0x7fff'ffff_va);
    const auto outside = table->translate(0x8000'0000_va);
    EXPECT(inside);
    EXPECT(inside->level == 2);
    EXPECT(inside->pa == 0x7fff'ffff_pa);
    EXPECT(table->table_frames() == 1);
    EXPECT(!outside);
    EXPECT(outside.error().code == PageTableErrorCode::NotMapped);
    EXPECT(outside.error().va == 0x8000'0000_va);
    return true;
}
static_assert(unmapped_neighbour_is_an_error());

constexpr PageTableError map_error(VirtualAddress va, PhysicalAddress pa, std::uint64_t size, PageFlags flags) {
    Memory memory;
    auto table = Table::create(memory);
    KMEM_ASSERT(table.has_value());
    KMEM_ASSERT(table->map(0x20'0000_va, 0x8000'0000_pa, 4_MiB, PageFlags::read_write()).has_value());
    const auto result = table->map(va, pa, size, flags);
    KMEM_ASSERT(!result.has_value());
    return result.error();
}

// Overlap with the existing [2 MiB, 6 MiB): the first mapped page is named,
// with the physical address it maps to now.
static_assert(map_error(0x10'0000_va, 0x9000'0000_pa, 2_MiB, PageFlags::read_only()).code ==
              PageTableErrorCode::AlreadyMapped);
static_assert(map_error(0x10'0000_va, 0x9000'0000_pa, 2_MiB, PageFlags::read_only()).va == 0x20'0000_va);
static_assert(map_error(0x10'0000_va, 0x9000'0000_pa, 2_MiB, PageFlags::read_only()).pa == 0x8000'0000_pa);
// 2^38 is the first address past Sv39's lower half.
static_assert(map_error(0x40'0000'0000_va, 0x1000_pa, 4_KiB, PageFlags::read_only()).code ==
              PageTableErrorCode::NonCanonical);
static_assert(map_error(0x3f'ffff'f000_va, 0x1000_pa, 8_KiB, PageFlags::read_only()).va == 0x40'0000'0000_va);
static_assert(map_error(0x1000'0000_va, 0x1000_pa, 4_KiB, {.read = true, .write = true, .execute = true}).code ==
              PageTableErrorCode::WriteExecute);
static_assert(map_error(0x1000'0000_va, 0x1000_pa, 4_KiB, {.write = true}).code == PageTableErrorCode::InvalidFlags);
static_assert(map_error(0x1000'0800_va, 0x1000_pa, 4_KiB, PageFlags::read_only()).code ==
              PageTableErrorCode::Misaligned);

// Running out of frames half way leaves the table as it was.
constexpr bool out_of_frames_rolls_back() {
    Memory memory;
    auto table = Table::create(memory);
    EXPECT(table);
    // [2 MiB - 4 KiB, 2 MiB + 4 KiB) needs two level-0 tables under one
    // level-1 table; with three frames in all, the first page is written
    // before the second level-0 table is refused.
    memory.set_limit(3);
    const auto result = table->map(0x1f'f000_va, 0x1000_pa, 8_KiB, PageFlags::read_only());
    EXPECT(!result);
    EXPECT(result.error().code == PageTableErrorCode::OutOfFrames);
    EXPECT(result.error().va == 0x20'0000_va);
    EXPECT(result.error().pa == 0x2000_pa);
    EXPECT(table->table_frames() == 1);
    EXPECT(memory.live_frames() == 1);
    EXPECT(!table->translate(0x1f'f000_va));
    return true;
}
static_assert(out_of_frames_rolls_back());

// One 4 KiB page at a time takes map()'s single-descent path: tables made on
// the way, a page inside a superpage refused, a refused frame undone.
constexpr bool single_pages() {
    Memory memory;
    auto table = Table::create(memory);
    EXPECT(table);
    // A 2 MiB leaf in a new level-1 table, then two pages in one new level-0 table.
    EXPECT(table->map(0x20'0000_va, 0x8000'0000_pa, 2_MiB, PageFlags::read_write()));
    EXPECT(table->map(0x1000_va, 0x9000'0000_pa, 4_KiB, PageFlags::read_only()));
    EXPECT(table->map(0x2000_va, 0x9000'1000_pa, 4_KiB, PageFlags::read_only()));
    const auto inside = table->map(0x30'0000_va, 0x1000_pa, 4_KiB, PageFlags::read_only());
    EXPECT(!inside);
    EXPECT(inside.error().code == PageTableErrorCode::AlreadyMapped);
    EXPECT(inside.error().pa == 0x8010'0000_pa);
    // The top page needs a level-1 and a level-0 table of its own; with one
    // frame left the level-1 table is made, then given back.
    memory.set_limit(4);
    const auto refused = table->map(VirtualAddress(0 - 4_KiB), 0x3000_pa, 4_KiB, PageFlags::read_only());
    EXPECT(!refused);
    EXPECT(refused.error().code == PageTableErrorCode::OutOfFrames);
    EXPECT(table->table_frames() == 3);
    EXPECT(memory.live_frames() == 3);
    EXPECT(!table->translate(VirtualAddress(0 - 4_KiB)));
    memory.set_limit(8);
    EXPECT(table->map(VirtualAddress(0 - 4_KiB), 0x3000_pa, 4_KiB, PageFlags::read_only()));
    const auto first = table->translate(0x1fff_va);
    const auto second = table->translate(0x2000_va);
    const auto top = table->translate(VirtualAddress(~0ull));
    EXPECT(first);
    EXPECT(first->pa == 0x9000'0fff_pa);
    EXPECT(second);
    EXPECT(second->pa == 0x9000'1000_pa);
    EXPECT(top);
    EXPECT(top->pa == 0x3fff_pa);
    EXPECT(top->level == 0);
    EXPECT(table->table_frames() == 5);
    return true;
}
static_assert(single_pages());

// The lower bound of table frames for hand-placed leaves.
constexpr std::array<Leaf, 4> kLeaves{{
    {0x0_va, {}, 4_KiB, 0, {}},                          // root -> L1[0] -> L0[0]
    {0x1000_va, {}, 4_KiB, 0, {}},                       // same tables
    {0x20'0000_va, {}, 2_MiB, 1, {}},                    // leaf in L1[0]
    {0xffff'ffff'c000'1000_va, {}, 4_KiB, 0, {}},        // root -> another L1 -> another L0
}};
static_assert(minimum_table_frames<Sv39>(kLeaves) == 5);
static_assert(minimum_table_frames<Sv48>(kLeaves) == 7);
static_assert(minimum_table_frames<Sv39>(std::array<Leaf, 0>{}) == 1);

// Splitting a 1 GiB page to unmap its first 4 KiB keeps every other address.
constexpr bool unmap_splits_a_gigabyte_page() {
    Memory memory;
    auto table = Table::create(memory);
    EXPECT(table);
    EXPECT(table->map(0x4000'0000_va, 0xc000'0000_pa, 1_GiB, PageFlags::read_write()));
    EXPECT(table->unmap(0x4000'0000_va, 4_KiB));
    const auto gone = table->translate(0x4000'0000_va);
    const auto small = table->translate(0x4000'1000_va);
    const auto big = table->translate(0x7fe0'0000_va);
    EXPECT(!gone);
    EXPECT(small);
    EXPECT(small->pa == 0xc000'1000_pa);
    EXPECT(small->level == 0);
    EXPECT(big);
    EXPECT(big->level == 1);
    EXPECT(big->pa == 0xffe0'0000_pa);
    EXPECT(table->table_frames() == 3);
    return true;
}
static_assert(unmap_splits_a_gigabyte_page());

}  // namespace

TEST_CASE("constexpr page table checks also hold at run time") {
    CHECK(kernel_image_translates());
    CHECK(unmapped_neighbour_is_an_error());
    CHECK(out_of_frames_rolls_back());
    CHECK(single_pages());
    CHECK(unmap_splits_a_gigabyte_page());
    for (const auto& failed : failed_conditions) FAIL_CHECK("failed: " << failed);
    CHECK(map_error(0x10'0000_va, 0x9000'0000_pa, 2_MiB, PageFlags::read_only()).va == 0x20'0000_va);
}
