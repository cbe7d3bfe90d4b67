#pragma once
// Physical frame allocator over two RangeSets: what is free and what has been
// handed out. A block moves from one set to the other in a single step that
// either completes or leaves both sets untouched, so no frame is ever in both
// and none is handed out twice; used + free always equals what was added.
//
// Allocation is lowest-first (the lowest aligned block that fits). Why:
// - the plan is a function of its inputs alone, so a host run reproduces
//   what the loader does on the board;
// - consecutive allocations land next to each other and next to the loader
//   image (which sits low in RAM), so the used set merges into few ranges and
//   BootInfo lists few regions;
// - the high end of RAM stays one large untouched block for the kernel.
// Highest-first would keep low (DMA32) memory free, but every RISC-V board
// this project targets starts RAM at 2 GiB, so a few hundred KiB taken there
// costs no device anything.

#include <cstddef>
#include <cstdint>
#include <span>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/range.hpp"

namespace kmem {

enum class AllocErrorCode : std::uint8_t {
    OutOfMemory,       // no free block of that size and alignment in the window
    InvalidSize,       // size 0, or too large to round up to whole frames
    InvalidAlignment,  // alignment not a power of two
    CapacityExceeded,  // the free or used set would need more ranges than it has
    NotAllocated,      // release: the range was not (entirely) handed out
    AlreadyUsed,       // add_free: the range overlaps memory that is handed out
};

struct AllocError {
    AllocErrorCode code = AllocErrorCode::OutOfMemory;
    std::uint64_t size = 0;       // as requested, before rounding up to frames
    std::uint64_t alignment = 0;  // as requested
    // Allocation: the window searched (CapacityExceeded included).
    // release / add_free / reserve: the range given.
    PhysicalRange range{};
    PhysicalRange largest_free{};  // the largest free block inside `range` when the request failed
    std::size_t capacity = 0;      // CapacityExceeded: ranges in the set that ran out

    template <CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "frame allocator: ");
        switch (code) {
            case AllocErrorCode::OutOfMemory:
                kmem::print(sink, "no free block of ", kmem::size(size), " aligned to ", kmem::hex(alignment), " in ",
                            range, " (largest free block ", largest_free, ", ", kmem::size(largest_free.size()));
                sink.put(')');
                break;
            case AllocErrorCode::InvalidSize:
                kmem::print(sink, "cannot allocate a block of ", kmem::size(size));
                break;
            case AllocErrorCode::InvalidAlignment:
                kmem::print(sink, "alignment ", kmem::hex(alignment), " is not a power of two (block of ",
                            kmem::size(size));
                sink.put(')');
                break;
            case AllocErrorCode::CapacityExceeded:
                kmem::print(sink, "more than ", capacity, " ranges needed to track ");
                if (size != 0) {
                    kmem::print(sink, "a block of ", kmem::size(size), " in ");
                }
                range.format(sink);
                break;
            case AllocErrorCode::NotAllocated:
                kmem::print(sink, "released ", range, ", which was not allocated");
                break;
            case AllocErrorCode::AlreadyUsed:
                kmem::print(sink, "free memory ", range, " overlaps allocated memory");
                break;
        }
    }
};

// N bounds the free set, UsedN the used set. Each allocation can add one free
// range (an aligned block cut from the middle of a free range) and one used
// range (a block not adjacent to earlier ones); lowest-first keeps both low.
template <std::size_t N, std::size_t UsedN = N>
class FrameAllocator {
public:
    static constexpr std::uint64_t kFrameSize = kPageSize;

    // User-provided, so that FrameAllocator{} does not zero both sets first.
    constexpr FrameAllocator() {}

    // The allocator whose free memory is `free_memory` (each range shrunk inward to
    // whole frames; overlaps merge).
    static constexpr Expected<FrameAllocator, AllocError> create(std::span<const PhysicalRange> free_memory) {
        // Explicit checks rather than KMEM_TRY: GCC 12 crashes (ICE in
        // cxx_eval_store_expression) when a statement expression returns
        // early during constant evaluation.
        FrameAllocator allocator;
        for (const auto& range : free_memory)
            if (auto added = allocator.add_free(range); !added) return unexpected(added.error());
        return allocator;
    }
    template <std::size_t M>
    static constexpr Expected<FrameAllocator, AllocError> create(const RangeSet<PhysicalAddress, M>& free_memory) {
        return create(std::span<const PhysicalRange>(free_memory.begin(), free_memory.size()));
    }

    // Adds the whole frames inside `range` to free memory. Partial frames at
    // the ends are dropped: a frame must be entirely RAM to be handed out.
    constexpr Expected<void, AllocError> add_free(PhysicalRange range) {
        const PhysicalRange frames = frames_inside(range);
        if (frames.empty()) return {};
        if (used_.overlaps(frames)) return unexpected(range_error(AllocErrorCode::AlreadyUsed, range));
        if (!free_.insert(frames)) return unexpected(capacity_error(range, N));
        return {};
    }

    // Takes every frame that `range` touches out of free memory without
    // recording it as allocated (firmware, reserved memory).
    constexpr Expected<void, AllocError> reserve(PhysicalRange range) {
        if (!free_.remove(frames_touching(range))) return unexpected(capacity_error(range, N));
        return {};
    }

    // One 4 KiB frame.
    constexpr Expected<PhysicalAddress, AllocError> allocate() {
        const auto block = allocate_contiguous(kFrameSize, kFrameSize);
        if (!block) return unexpected(block.error());
        return block->begin();
    }

    // `size` rounds up to whole frames and `alignment` up to the frame size.
    constexpr Expected<PhysicalRange, AllocError> allocate_contiguous(std::uint64_t size, std::uint64_t alignment) {
        return allocate_within(size, alignment, RangeSet<PhysicalAddress, N>::kEverything);
    }

    // As allocate_contiguous, with the block entirely inside `window`.
    constexpr Expected<PhysicalRange, AllocError> allocate_within(std::uint64_t size, std::uint64_t alignment,
                                                                  PhysicalRange window) {
        AllocError error{};
        error.size = size;
        error.alignment = alignment;
        error.range = window;
        if (!is_power_of_two(alignment)) {
            error.code = AllocErrorCode::InvalidAlignment;
            return unexpected(error);
        }
        const auto frames = align_up(size, kFrameSize);
        if (size == 0 || !frames) {
            error.code = AllocErrorCode::InvalidSize;
            return unexpected(error);
        }
        const std::uint64_t frame_alignment = alignment < kFrameSize ? kFrameSize : alignment;
        const auto fit = free_.find_fit(*frames, frame_alignment, window);
        if (!fit) {
            error.code = AllocErrorCode::OutOfMemory;
            error.largest_free = fit.error().largest;
            return unexpected(error);
        }
        if (const std::size_t full = move(*fit, free_, used_); full != 0) {
            error.code = AllocErrorCode::CapacityExceeded;
            error.capacity = full;
            return unexpected(error);
        }
        return *fit;
    }

    // Gives back a block that was allocated (all of it, part of it, or
    // several neighbouring allocations at once).
    constexpr Expected<void, AllocError> release(PhysicalRange range) {
        if (!used_.contains(range)) return unexpected(range_error(AllocErrorCode::NotAllocated, range));
        if (const std::size_t full = move(range, used_, free_); full != 0) return unexpected(capacity_error(range, full));
        return {};
    }

    constexpr const RangeSet<PhysicalAddress, N>& free_ranges() const { return free_; }
    constexpr const RangeSet<PhysicalAddress, UsedN>& used_ranges() const { return used_; }
    constexpr std::uint64_t free_bytes() const { return free_.total_size(); }
    constexpr std::uint64_t used_bytes() const { return used_.total_size(); }

private:
    static constexpr PhysicalRange frames_inside(PhysicalRange range) {
        const auto begin = range.begin().align_up(kFrameSize);
        const PhysicalAddress end = range.end().align_down(kFrameSize);
        if (!begin || *begin >= end) return {};
        return {*begin, end};
    }
    static constexpr PhysicalRange frames_touching(PhysicalRange range) {
        if (range.empty()) return {};
        // The top frame cannot be free (a range cannot end at 2^64), so
        // stopping one byte short of it when rounding up removes the same.
        const auto end = range.end().align_up(kFrameSize);
        return {range.begin().align_down(kFrameSize), end ? *end : PhysicalAddress(~std::uint64_t{0})};
    }

    static constexpr AllocError range_error(AllocErrorCode code, PhysicalRange range) {
        AllocError error{};
        error.code = code;
        error.range = range;
        return error;
    }
    static constexpr AllocError capacity_error(PhysicalRange range, std::size_t capacity) {
        AllocError error = range_error(AllocErrorCode::CapacityExceeded, range);
        error.capacity = capacity;
        return error;
    }

    // Moves `block` from one set to the other, all or nothing; returns 0, or
    // the capacity of the set that ran out. Removing first and undoing on
    // failure is safe: putting back what was just removed restores the
    // earlier set exactly, which fitted before.
    template <std::size_t From, std::size_t To>
    static constexpr std::size_t move(PhysicalRange block, RangeSet<PhysicalAddress, From>& from,
                                      RangeSet<PhysicalAddress, To>& to) {
        if (!from.remove(block)) return From;
        if (!to.insert(block)) {
            const auto undone = from.insert(block);
            KMEM_ASSERT(undone.has_value());
            return To;
        }
        return 0;
    }

    RangeSet<PhysicalAddress, N> free_{};
    RangeSet<PhysicalAddress, UsedN> used_{};
};

}  // namespace kmem
