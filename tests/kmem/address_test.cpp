#include <doctest/doctest.h>

#include <concepts>

#include "kmem/address.hpp"

using namespace kmem;
using namespace kmem::literals;

// The point of the strong types: these conversions must not compile.
static_assert(!std::is_convertible_v<PhysicalAddress, VirtualAddress>);
static_assert(!std::is_convertible_v<VirtualAddress, PhysicalAddress>);
static_assert(!std::is_convertible_v<std::uint64_t, PhysicalAddress>);
static_assert(!std::is_convertible_v<PhysicalAddress, std::uint64_t>);
static_assert(!std::equality_comparable_with<PhysicalAddress, VirtualAddress>);
static_assert(0x1fff_pa .align_down(4096) == 0x1000_pa);
static_assert(*(0x1001_va).align_up(4096) == 0x2000_va);

TEST_CASE("alignment") {
    CHECK(0x1234_pa .align_down(0x1000) == 0x1000_pa);
    CHECK(*(0x1234_pa).align_up(0x1000) == 0x2000_pa);
    CHECK(*(0x2000_pa).align_up(0x1000) == 0x2000_pa);
    CHECK(0x20'0000_va .is_aligned(2_MiB));
    CHECK_FALSE(0x20'1000_va .is_aligned(2_MiB));
    CHECK(VirtualAddress(0).is_aligned(1_GiB));
}

TEST_CASE("align_up reports overflow at the top of the address space") {
    auto result = VirtualAddress(~0ull - 5).align_up(4096);
    REQUIRE_FALSE(result);
    CHECK(result.error().base == ~0ull - 5);
    CHECK(*VirtualAddress(~0ull - 4095).align_up(4096) == VirtualAddress(~0ull - 4095));
}

TEST_CASE("checked add and sub") {
    CHECK(*(0x1000_pa).checked_add(0x1000) == 0x2000_pa);
    auto overflow = VirtualAddress(~0ull).checked_add(1);
    REQUIRE_FALSE(overflow);
    CHECK(overflow.error().amount == 1);
    CHECK_FALSE(overflow.error().subtract);
    auto underflow = PhysicalAddress(5).checked_sub(6);
    REQUIRE_FALSE(underflow);
    CHECK(underflow.error().subtract);
    CHECK(*PhysicalAddress(6).checked_sub(6) == PhysicalAddress(0));
    CHECK(0x3000_va - 0x1000_va == 0x2000);
}

TEST_CASE("canonical form per VA width") {
    // Sv39: bits 63..38 equal bit 38.
    CHECK(is_canonical(0x0000'003f'ffff'ffff_va, 39));
    CHECK_FALSE(is_canonical(0x0000'0040'0000'0000_va, 39));
    CHECK(is_canonical(0xffff'ffc0'0000'0000_va, 39));
    CHECK_FALSE(is_canonical(0xffff'ff80'0000'0000_va, 39));
    CHECK(is_canonical(0xffff'8000'0000'0000_va, 48));
    CHECK_FALSE(is_canonical(0xffff'0000'0000'0000_va, 48));
    CHECK(is_canonical(0x0000'7fff'ffff'ffff_va, 48));
    CHECK_FALSE(is_canonical(0x0000'8000'0000'0000_va, 48));
    CHECK(is_canonical(0xff00'0000'0000'0000_va, 57));
    CHECK_FALSE(is_canonical(0x0100'0000'0000'0000_va, 57));
    CHECK_FALSE(is_canonical(0xfe00'0000'0000'0000_va, 57));
}
