#pragma once
// The planner's paging-mode vocabulary: the protocol's PagingMode against
// kmem's PagingModeId, and a set of modes (what the satp probe found).

#include <cstdint>

#include "kmem/format.hpp"
#include "kmem/riscv.hpp"
#include "loader_api/loader_config.hpp"

namespace loader_api {

constexpr kmem::PagingModeId to_mode_id(PagingMode mode) {
    return mode == PagingMode::Sv57 ? kmem::PagingModeId::Sv57
           : mode == PagingMode::Sv48 ? kmem::PagingModeId::Sv48
                                      : kmem::PagingModeId::Sv39;
}
constexpr PagingMode to_paging_mode(kmem::PagingModeId mode) {
    return mode == kmem::PagingModeId::Sv57 ? PagingMode::Sv57
           : mode == kmem::PagingModeId::Sv48 ? PagingMode::Sv48
                                              : PagingMode::Sv39;
}

// A set of paging modes, e.g. what the satp probe found.
class PagingModeSet {
public:
    constexpr PagingModeSet() = default;
    static constexpr PagingModeSet all() {
        PagingModeSet set;
        set.bits_ = 7;
        return set;
    }
    constexpr PagingModeSet& add(kmem::PagingModeId mode) {
        bits_ |= bit(mode);
        return *this;
    }
    constexpr bool contains(kmem::PagingModeId mode) const { return (bits_ & bit(mode)) != 0; }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr std::uint8_t bits() const { return bits_; }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        bool first = true;
        for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57}) {
            if (!contains(mode)) continue;
            if (!first) sink.put(' ');
            kmem::print(sink, kmem::name(mode));
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

}  // namespace loader_api
