#pragma once
// Physical and virtual addresses as distinct types: mixing them up is the
// classic loader bug, so neither converts to the other or from a bare integer.

#include <compare>
#include <cstdint>
#include <type_traits>

#include "kmem/expected.hpp"

namespace kmem {

inline constexpr std::uint64_t kPageSize = 4096;

constexpr bool is_power_of_two(std::uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

// Integer alignment helpers shared by the address types and by code that
// aligns sizes. `alignment` must be a power of two.
constexpr std::uint64_t align_down(std::uint64_t value, std::uint64_t alignment) {
    KMEM_ASSERT(is_power_of_two(alignment));
    return value & ~(alignment - 1);
}
constexpr bool is_aligned(std::uint64_t value, std::uint64_t alignment) {
    KMEM_ASSERT(is_power_of_two(alignment));
    return (value & (alignment - 1)) == 0;
}

struct AddressOverflow {
    std::uint64_t base = 0;
    std::uint64_t amount = 0;
    bool subtract = false;  // base - amount underflowed, rather than base + amount overflowing
};

constexpr Expected<std::uint64_t, AddressOverflow> checked_add(std::uint64_t base, std::uint64_t amount) {
    std::uint64_t sum = 0;
    if (__builtin_add_overflow(base, amount, &sum)) return unexpected(AddressOverflow{base, amount, false});
    return sum;
}
constexpr Expected<std::uint64_t, AddressOverflow> checked_sub(std::uint64_t base, std::uint64_t amount) {
    if (amount > base) return unexpected(AddressOverflow{base, amount, true});
    return base - amount;
}
constexpr Expected<std::uint64_t, AddressOverflow> align_up(std::uint64_t value, std::uint64_t alignment) {
    KMEM_ASSERT(is_power_of_two(alignment));
    if (value > ~std::uint64_t{0} - (alignment - 1)) return unexpected(AddressOverflow{value, alignment - 1, false});
    return (value + alignment - 1) & ~(alignment - 1);
}

template <class Tag>
class Address {
public:
    constexpr Address() = default;
    constexpr explicit Address(std::uint64_t value) : value_(value) {}

    constexpr std::uint64_t value() const { return value_; }

    friend constexpr auto operator<=>(Address, Address) = default;

    // Unchecked offsets for code that has already bounded its inputs (e.g.
    // inside a range it validated); everything else uses checked_add/sub.
    friend constexpr Address operator+(Address address, std::uint64_t offset) { return Address(address.value_ + offset); }
    friend constexpr Address operator-(Address address, std::uint64_t offset) { return Address(address.value_ - offset); }
    // Distance between two addresses of the same kind; `high` must not be below `low`.
    friend constexpr std::uint64_t operator-(Address high, Address low) {
        KMEM_ASSERT(high.value_ >= low.value_);
        return high.value_ - low.value_;
    }

    constexpr Expected<Address, AddressOverflow> checked_add(std::uint64_t offset) const {
        auto sum = kmem::checked_add(value_, offset);
        if (!sum) return unexpected(sum.error());
        return Address(*sum);
    }
    constexpr Expected<Address, AddressOverflow> checked_sub(std::uint64_t offset) const {
        auto difference = kmem::checked_sub(value_, offset);
        if (!difference) return unexpected(difference.error());
        return Address(*difference);
    }

    constexpr Address align_down(std::uint64_t alignment) const { return Address(kmem::align_down(value_, alignment)); }
    constexpr Expected<Address, AddressOverflow> align_up(std::uint64_t alignment) const {
        auto aligned = kmem::align_up(value_, alignment);
        if (!aligned) return unexpected(aligned.error());
        return Address(*aligned);
    }
    constexpr bool is_aligned(std::uint64_t alignment) const { return kmem::is_aligned(value_, alignment); }

private:
    std::uint64_t value_ = 0;
};

struct PhysicalTag;
struct VirtualTag;
using PhysicalAddress = Address<PhysicalTag>;
using VirtualAddress = Address<VirtualTag>;

template <class A>
concept AddressType = std::is_same_v<A, PhysicalAddress> || std::is_same_v<A, VirtualAddress>;

// A virtual address is canonical for a `va_bits`-bit mode when bits 63..va_bits-1
// all equal bit va_bits-1 (RISC-V privileged spec, Sv39/48/57 "must equal bit 38/47/56").
constexpr bool is_canonical(VirtualAddress address, unsigned va_bits) {
    KMEM_ASSERT(va_bits > 0 && va_bits < 64);
    const auto top = static_cast<std::int64_t>(address.value()) >> (va_bits - 1);
    return top == 0 || top == -1;
}

// First address past the lower half, and first address of the upper half,
// of a `va_bits`-bit mode.
constexpr std::uint64_t lower_half_end(unsigned va_bits) { return std::uint64_t{1} << (va_bits - 1); }
constexpr std::uint64_t upper_half_begin(unsigned va_bits) { return ~std::uint64_t{0} << (va_bits - 1); }

namespace literals {
constexpr PhysicalAddress operator""_pa(unsigned long long value) { return PhysicalAddress(value); }
constexpr VirtualAddress operator""_va(unsigned long long value) { return VirtualAddress(value); }
constexpr std::uint64_t operator""_KiB(unsigned long long value) { return value << 10; }
constexpr std::uint64_t operator""_MiB(unsigned long long value) { return value << 20; }
constexpr std::uint64_t operator""_GiB(unsigned long long value) { return value << 30; }
constexpr std::uint64_t operator""_TiB(unsigned long long value) { return value << 40; }
}  // namespace literals

}  // namespace kmem
