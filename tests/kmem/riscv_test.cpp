#include <doctest/doctest.h>

#include <string>

#include "kmem/riscv.hpp"
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

using loader_api::host::text_of;

}  // namespace

TEST_CASE_TEMPLATE("mode geometry follows the spec", Mode, Sv39, Sv48, Sv57) {
    // Numbers from the privileged spec's tables, not derived from the traits.
    struct Spec {
        unsigned levels, va_bits;
        std::uint64_t satp_mode, largest_page;
    };
    const Spec expected = Mode::kId == PagingModeId::Sv39   ? Spec{3, 39, 8, 1_GiB}
                              : Mode::kId == PagingModeId::Sv48 ? Spec{4, 48, 9, 512_GiB}
                                                                : Spec{5, 57, 10, 256_TiB};
    CHECK(Mode::kLevels == expected.levels);
    CHECK(Mode::kVaBits == expected.va_bits);
    CHECK(Mode::kSatpMode == expected.satp_mode);
    CHECK(Mode::page_size(Mode::kMaxLeafLevel) == expected.largest_page);
    CHECK(Mode::page_size(0) == 4_KiB);
    CHECK(Mode::page_size(1) == 2_MiB);
    CHECK(Mode::page_size(2) == 1_GiB);
    for (unsigned level = 0; level < Mode::kLevels; ++level) CHECK(Mode::index_bits(level) == 9);
    CHECK(Mode::kEntries == 512);
    CHECK(Mode::kName == name(Mode::kId));
    CHECK(satp_mode(Mode::kId) == expected.satp_mode);

    // The halves: the last lower address and the first upper one are
    // canonical, their neighbours outside are not.
    const std::uint64_t half = std::uint64_t{1} << (expected.va_bits - 1);
    CHECK(Mode::is_canonical(VirtualAddress(half - 1)));
    CHECK_FALSE(Mode::is_canonical(VirtualAddress(half)));
    CHECK_FALSE(Mode::is_canonical(VirtualAddress(~(half - 1) - 1)));
    CHECK(Mode::is_canonical(VirtualAddress(~(half - 1))));
    CHECK(Mode::is_canonical(VirtualAddress(~0ull)));
    CHECK(Mode::kLowerHalfEnd == half);
    CHECK(Mode::kUpperHalfBegin == ~(half - 1));
}

TEST_CASE("indices select the va bits of each level") {
    // Sv39 VPN[2] = va[38:30], VPN[1] = va[29:21], VPN[0] = va[20:12].
    const VirtualAddress va(0x0000'0012'3456'7000);
    CHECK(Sv39::index(va, 2) == 0x48);
    CHECK(Sv39::index(va, 1) == 0x1a2);
    CHECK(Sv39::index(va, 0) == 0x167);
    CHECK(Sv39::index(0xffff'ffff'ffff'f000_va, 2) == 511);
    CHECK(Sv39::index(0xffff'ffc0'0000'0000_va, 2) == 256);
    // Sv57 VPN[4] = va[56:48].
    CHECK(Sv57::index(0xff00'0000'0000'0000_va, 4) == 256);
    CHECK(Sv57::index(0x00ff'0000'0000'0000_va, 4) == 255);
    CHECK(Sv48::index(0xffff'8000'0000'0000_va, 3) == 256);
}

TEST_CASE("satp encoding") {
    // MODE 63..60, ASID 59..44, PPN 43..0.
    CHECK(Sv39::satp(0x80000, 0) == 0x8000'0000'0008'0000);
    CHECK(Sv48::satp(0x80000, 0x1234) == 0x9123'4000'0008'0000);
    CHECK(Sv57::satp(PhysicalAddress(0x8123'4000), 7) == 0xa000'7000'0008'1234);
    CHECK(*paging_mode_from_satp(0x8000'0000'0008'0000) == PagingModeId::Sv39);
    CHECK(*paging_mode_from_satp(0x9000'0000'0000'0000) == PagingModeId::Sv48);
    CHECK(*paging_mode_from_satp(0xa000'0000'0000'0000) == PagingModeId::Sv57);
    const auto bare = paging_mode_from_satp(0);
    REQUIRE_FALSE(bare);
    CHECK(bare.error().mode == 0);
    CHECK(text_of(bare.error()) == "satp: MODE 0 is not Sv39 (8), Sv48 (9) or Sv57 (10)");
}

TEST_CASE("with_paging_mode dispatches on the run-time id") {
    CHECK(with_paging_mode(PagingModeId::Sv39, []<PagingMode M>(M) { return M::kLevels; }) == 3);
    CHECK(with_paging_mode(PagingModeId::Sv48, []<PagingMode M>(M) { return M::kLevels; }) == 4);
    CHECK(with_paging_mode(PagingModeId::Sv57, []<PagingMode M>(M) { return M::kVaBits; }) == 57);
    CHECK(name(PagingModeId::Sv48) == "Sv48");
    static_assert(with_paging_mode(PagingModeId::Sv57, []<PagingMode M>(M) { return M::kSatpMode; }) == 10);
}

TEST_CASE("leaf entries carry A and D, and the permission bits") {
    const Pte rw = Pte::leaf(0x8020'0000_pa, PageFlags::read_write());
    CHECK(rw.valid());
    CHECK(rw.is_leaf());
    CHECK_FALSE(rw.is_table());
    CHECK(rw.readable());
    CHECK(rw.writable());
    CHECK_FALSE(rw.executable());
    CHECK(rw.accessed());
    CHECK(rw.dirty());
    CHECK(rw.address() == 0x8020'0000_pa);
    CHECK(rw.ppn() == 0x80200);
    CHECK(rw.raw() == 0x2008'00c7);

    const Pte rx = Pte::leaf(0x8020'0000_pa, PageFlags::read_execute());
    CHECK(rx.accessed());
    CHECK(rx.dirty());  // the boot protocol promises A and D on every leaf (0xcb, not 0x4b)
    CHECK((rx.raw() & 0x3ff) == 0xcb);

    const Pte x = Pte::leaf(0x1000_pa, PageFlags::execute_only());
    CHECK(x.raw() == (0x1ull << 10 | 0x1 | 0x8 | 0x40 | 0x80));

    const Pte user_global = Pte::leaf(0x40'0000'0000_pa, {.read = true, .user = true, .global = true}, 2);
    CHECK(user_global.user());
    CHECK(user_global.global());
    CHECK(user_global.raw() == ((0x40'0000'0000ull >> 12) << 10 | 0x1 | 0x2 | 0x10 | 0x20 | 0x40 | 0x80));

    const Pte io = Pte::leaf(0x1000'0000_pa, {.read = true, .write = true, .memory_type = MemoryType::Io});
    CHECK(io.pbmt() == 2);
    CHECK(io.flags().memory_type == MemoryType::Io);
    const Pte nc = Pte::leaf(0x1000'0000_pa, {.read = true, .memory_type = MemoryType::NonCacheable});
    CHECK((nc.raw() >> 61) == 1);
    CHECK_FALSE(nc.napot());
}

TEST_CASE("table pointers carry V alone") {
    const Pte table = Pte::table(0x8765'4000_pa);
    CHECK(table.raw() == ((0x87654ull << 10) | 1));
    CHECK(table.is_table());
    CHECK_FALSE(table.is_leaf());
    CHECK_FALSE(table.accessed());
    CHECK_FALSE(table.dirty());
    CHECK_FALSE(table.user());
    CHECK(table.pbmt() == 0);
    CHECK_FALSE(table.napot());
    CHECK(table.address() == 0x8765'4000_pa);
    // The widest physical address: PPN is 44 bits.
    CHECK(Pte::table(0xff'ffff'ffff'f000_pa).ppn() == 0xfff'ffff'ffff);
}

TEST_CASE("decoding raw entries") {
    const Pte raw = Pte::from_raw(0x8000'0000'0000'0000 | (3ull << 61) | (0x12345ull << 10) | (2u << 8) | 0xff);
    CHECK(raw.napot());
    CHECK(raw.pbmt() == 3);
    CHECK(raw.software_bits() == 2);
    CHECK(raw.ppn() == 0x12345);
    CHECK(raw.user());
    CHECK(raw.global());
    CHECK(raw.accessed());
    CHECK(raw.dirty());
    CHECK_FALSE(Pte::from_raw(0xe).valid());
    CHECK_FALSE(Pte::from_raw(0xe).is_leaf());
    CHECK(Pte::leaf(0x1000_pa, PageFlags::read_only()).with_software_bits(1).raw() == ((1ull << 10) | 0xc3 | 0x100));
}

TEST_CASE("flags rules") {
    CHECK(check_flags(PageFlags::read_only()) == FlagsProblem::None);
    CHECK(check_flags(PageFlags::execute_only()) == FlagsProblem::None);
    CHECK(check_flags({}) == FlagsProblem::NoAccess);
    CHECK(check_flags({.write = true}) == FlagsProblem::WriteWithoutRead);
    CHECK(check_flags({.write = true, .execute = true}) == FlagsProblem::WriteWithoutRead);
    CHECK(check_flags({.read = true, .write = true, .execute = true}) == FlagsProblem::WriteExecute);
    CHECK(check_flags({.read = true, .write = true, .execute = true, .allow_write_execute = true}) ==
          FlagsProblem::None);
    CHECK(check_flags({.read = true, .memory_type = static_cast<MemoryType>(3)}) == FlagsProblem::ReservedMemoryType);

    const PageFlags wx{.read = true, .write = true, .execute = true, .allow_write_execute = true};
    CHECK(Pte::leaf(0x1000_pa, wx).flags() == wx);
    // allow_write_execute is not in the entry; decoding reports the page as it is.
    const PageFlags allowed_rw{.read = true, .write = true, .allow_write_execute = true};
    CHECK(Pte::leaf(0x1000_pa, allowed_rw).flags() == PageFlags::read_write());
    CHECK(allowed_rw.normalized() == PageFlags::read_write());

    CHECK(text_of(PageFlags::read_write()) == "rw---");
    CHECK(text_of(PageFlags{.read = true, .execute = true, .user = true, .global = true}) == "r-xug");
    CHECK(text_of(PageFlags{.read = true, .memory_type = MemoryType::Io}) == "r---- io");
    CHECK(describe(FlagsProblem::WriteWithoutRead) == "writable but not readable (R=0 W=1 is reserved)");
}
