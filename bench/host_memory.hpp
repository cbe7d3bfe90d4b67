#pragma once
// Page-table frames for host benchmarks: a fixed pool reserved up front, so
// the measured build never calls malloc, with fake physical addresses so the
// tables look like the loader's (PPNs in the 56-bit physical space).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "kmem/address.hpp"
#include "kmem/assert.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"

namespace bench {

class HostMemory {
public:
    struct Exhausted {
        std::size_t capacity = 0;
        template <kmem::CharSink S>
        constexpr void format(S& sink) const {
            kmem::write(sink, "host memory: all ");
            kmem::write_dec(sink, capacity);
            kmem::write(sink, " frames in use");
        }
    };

    // Frames are left uninitialised here: a 16 GiB physmap built 4 KiB at a
    // time needs tens of MiB of tables, and only the frames handed out
    // should be touched (and zeroed, inside the measured build).
    explicit HostMemory(std::size_t capacity,
                        kmem::PhysicalAddress base = kmem::PhysicalAddress(0x10'0000'0000))
        : frames_(new Frame[capacity]), capacity_(capacity), base_(base) {
        KMEM_ASSERT(base.is_aligned(kmem::kPageSize));
        free_.reserve(capacity);
    }

    kmem::Expected<kmem::PhysicalAddress, Exhausted> allocate_zeroed_frame() {
        std::size_t index = 0;
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else if (next_ < capacity_) {
            index = next_++;
        } else {
            return kmem::unexpected(Exhausted{capacity_});
        }
        std::memset(frames_[index].entries, 0, sizeof(Frame));
        ++live_;
        return base_ + index * kmem::kPageSize;
    }

    void free_frame(kmem::PhysicalAddress frame) {
        free_.push_back(index_of(frame));
        --live_;
    }

    std::uint64_t* pointer(kmem::PhysicalAddress frame) { return frames_[index_of(frame)].entries; }

    std::size_t live_frames() const { return live_; }

private:
    struct alignas(4096) Frame {
        std::uint64_t entries[512];
    };

    std::size_t index_of(kmem::PhysicalAddress frame) const {
        const std::uint64_t index = (frame.value() - base_.value()) / kmem::kPageSize;
        KMEM_ASSERT(frame >= base_ && index < next_);
        return static_cast<std::size_t>(index);
    }

    std::unique_ptr<Frame[]> frames_;
    std::size_t capacity_ = 0;
    std::size_t next_ = 0;
    std::size_t live_ = 0;
    std::vector<std::size_t> free_;
    kmem::PhysicalAddress base_;
};

}  // namespace bench
