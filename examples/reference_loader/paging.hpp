#pragma once
// Which paging modes this hart implements, found by writing satp and reading
// it back (an unsupported MODE leaves satp unchanged, privileged spec "satp"),
// and the bootstrap identity tables the probe and the self-test run on.

#include <cstdint>

#include "kmem/riscv.hpp"

namespace loader {

class PagingModes {
public:
    constexpr void add(kmem::PagingModeId mode) { bits_ |= bit(mode); }
    constexpr bool contains(kmem::PagingModeId mode) const { return (bits_ & bit(mode)) != 0; }
    constexpr bool empty() const { return bits_ == 0; }
    // The mode with the most levels, Sv39 when empty (check empty() first).
    constexpr kmem::PagingModeId widest() const {
        if (contains(kmem::PagingModeId::Sv57)) return kmem::PagingModeId::Sv57;
        if (contains(kmem::PagingModeId::Sv48)) return kmem::PagingModeId::Sv48;
        return kmem::PagingModeId::Sv39;
    }

    // "Sv39 Sv48 Sv57", or "none".
    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        bool first = true;
        for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57}) {
            if (!contains(mode)) continue;
            if (!first) sink.put(' ');
            kmem::write(sink, kmem::name(mode));
            first = false;
        }
        if (first) kmem::write(sink, "none");
    }

private:
    static constexpr std::uint8_t bit(kmem::PagingModeId mode) {
        return static_cast<std::uint8_t>(1u << static_cast<unsigned>(mode));
    }
    std::uint8_t bits_ = 0;
};

// Fills the identity tables: every 1 GiB of the first 512 GiB of physical
// space mapped to itself, reachable as an Sv39, Sv48 or Sv57 root.
void build_identity_tables();

// satp for the identity tables in `mode` (ASID 0).
std::uint64_t identity_satp(kmem::PagingModeId mode);

// Needs build_identity_tables() first and satp = 0 (Bare); leaves satp = 0.
PagingModes probe_paging_modes();

}  // namespace loader
