#pragma once
// ArrayMemory: page-table memory for constant evaluation and host tests.

#include <array>
#include <cstddef>
#include <cstdint>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"

namespace kmem {

// A Memory over a fixed array of frames at a chosen physical base: for
// constant evaluation and host tests. set_limit() makes allocation fail after
// a number of live frames, to test the OutOfFrames paths.
template <std::size_t Frames>
class ArrayMemory {
public:
    struct Exhausted {
        std::size_t live = 0;
        template <CharSink S>
        constexpr void format(S& sink) const {
            kmem::print(sink, "array memory: no frame left (", live, " in use)");
        }
    };

    constexpr explicit ArrayMemory(PhysicalAddress base = PhysicalAddress(0x8000'0000)) : base_(base) {
        KMEM_ASSERT(base.is_aligned(kPageSize));
        // Lowest frame first, so simulated layouts are easy to read.
        for (std::size_t i = 0; i < Frames; ++i) free_[i] = static_cast<std::uint32_t>(Frames - 1 - i);
        free_count_ = Frames;
    }

    constexpr Expected<PhysicalAddress, Exhausted> allocate_zeroed_frame() {
        if (free_count_ == 0 || live_ >= limit_) return unexpected(Exhausted{live_});
        const std::uint32_t index = free_[--free_count_];
        for (auto& entry : frames_[index]) entry = 0;
        in_use_[index] = true;
        ++live_;
        return base_ + std::uint64_t{index} * kPageSize;
    }

    constexpr void free_frame(PhysicalAddress frame) {
        const std::size_t index = index_of(frame);
        in_use_[index] = false;
        free_[free_count_++] = static_cast<std::uint32_t>(index);
        --live_;
    }

    constexpr std::uint64_t* pointer(PhysicalAddress frame) { return frames_[index_of(frame)].data(); }

    constexpr std::size_t live_frames() const { return live_; }
    constexpr void set_limit(std::size_t live_limit) { limit_ = live_limit; }
    constexpr bool in_use(PhysicalAddress frame) const {
        if (frame < base_ || !frame.is_aligned(kPageSize)) return false;
        const std::uint64_t index = (frame - base_) / kPageSize;
        return index < Frames && in_use_[index];
    }

private:
    // Only frames handed out may be touched: anything else is a bug in the
    // page table code, which this memory exists to catch.
    constexpr std::size_t index_of(PhysicalAddress frame) const {
        KMEM_ASSERT(in_use(frame));
        return static_cast<std::size_t>((frame - base_) / kPageSize);
    }

    PhysicalAddress base_;
    std::array<std::array<std::uint64_t, 512>, Frames> frames_{};
    std::array<std::uint32_t, Frames> free_{};
    std::array<bool, Frames> in_use_{};
    std::size_t free_count_ = 0;
    std::size_t live_ = 0;
    std::size_t limit_ = Frames;
};

}  // namespace kmem
