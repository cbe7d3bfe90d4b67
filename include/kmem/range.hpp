#pragma once
// Half-open address ranges [begin, end). RangeSet<A, N> (sorted, merged,
// fixed capacity) follows below AddressRange.

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kmem/address.hpp"
#include "kmem/format.hpp"
#include "kmem/lazy_array.hpp"

namespace kmem {

template <AddressType A>
class AddressRange {
public:
    using address_type = A;

    constexpr AddressRange() = default;
    // `end` may equal `begin` (empty). A range ending at 2^64 cannot be
    // expressed; the top page of a 64-bit space is never mapped by this project.
    constexpr AddressRange(A begin, A end) : begin_(begin), end_(end) { KMEM_ASSERT(begin <= end); }

    static constexpr Expected<AddressRange, AddressOverflow> from_size(A begin, std::uint64_t size) {
        auto end = begin.checked_add(size);
        if (!end) return unexpected(end.error());
        return AddressRange(begin, *end);
    }

    constexpr A begin() const { return begin_; }
    constexpr A end() const { return end_; }
    constexpr std::uint64_t size() const { return end_ - begin_; }
    constexpr bool empty() const { return begin_ == end_; }

    friend constexpr bool operator==(AddressRange, AddressRange) = default;

    constexpr bool contains(A address) const { return begin_ <= address && address < end_; }
    constexpr bool contains(AddressRange other) const {
        return other.empty() ? contains(other.begin_) || other.begin_ == end_
                             : begin_ <= other.begin_ && other.end_ <= end_;
    }
    constexpr bool overlaps(AddressRange other) const {
        return !empty() && !other.empty() && begin_ < other.end_ && other.begin_ < end_;
    }
    // Empty when the ranges do not overlap.
    constexpr AddressRange intersection(AddressRange other) const {
        if (!overlaps(other)) return {};
        return {begin_ > other.begin_ ? begin_ : other.begin_, end_ < other.end_ ? end_ : other.end_};
    }

    // What is left of this range after removing `other`: zero, one or two pieces.
    struct Difference {
        std::array<AddressRange, 2> pieces{};
        std::size_t count = 0;
        constexpr const AddressRange* begin() const { return pieces.data(); }
        constexpr const AddressRange* end() const { return pieces.data() + count; }
    };
    constexpr Difference subtract(AddressRange other) const {
        Difference result;
        if (!overlaps(other)) {
            if (!empty()) result.pieces[result.count++] = *this;
            return result;
        }
        if (begin_ < other.begin_) result.pieces[result.count++] = {begin_, other.begin_};
        if (other.end_ < end_) result.pieces[result.count++] = {other.end_, end_};
        return result;
    }

    constexpr bool is_aligned(std::uint64_t alignment) const {
        return begin_.is_aligned(alignment) && end_.is_aligned(alignment);
    }

    // Iterates the start address of every `page_size` page that the range
    // touches (begin rounded down, end rounded up).
    class PageIterator {
    public:
        constexpr PageIterator(std::uint64_t current, std::uint64_t page_size) : current_(current), page_size_(page_size) {}
        constexpr A operator*() const { return A(current_); }
        constexpr PageIterator& operator++() {
            current_ += page_size_;
            return *this;
        }
        friend constexpr bool operator==(PageIterator, PageIterator) = default;

    private:
        std::uint64_t current_;
        std::uint64_t page_size_;
    };
    struct Pages {
        std::uint64_t first;
        std::uint64_t past_last;
        std::uint64_t page_size;
        constexpr PageIterator begin() const { return {first, page_size}; }
        constexpr PageIterator end() const { return {past_last, page_size}; }
        constexpr std::uint64_t count() const { return (past_last - first) / page_size; }
    };
    constexpr Pages pages(std::uint64_t page_size = kPageSize) const {
        if (empty()) return {0, 0, page_size};
        const std::uint64_t first = kmem::align_down(begin_.value(), page_size);
        // end() rounded up. For a range inside the top page this wraps to 0;
        // iteration and count() are modulo 2^64, so they still stop after
        // that page.
        const std::uint64_t past_last = kmem::align_down(end_.value() - 1, page_size) + page_size;
        return {first, past_last, page_size};
    }

    // "[0x80000000, 0x80200000)": the notation every error message uses.
    template <CharSink S>
    constexpr void format(S& sink) const {
        sink.put('[');
        kmem::print(sink, kmem::hex(begin_.value()), ", ", kmem::hex(end_.value()));
        sink.put(')');
    }

private:
    A begin_{};
    A end_{};
};

using PhysicalRange = AddressRange<PhysicalAddress>;
using VirtualRange = AddressRange<VirtualAddress>;

// ---------------------------------------------------------------------------
// RangeSet<A, N>: a set of addresses stored as at most N half-open ranges,
// sorted, pairwise disjoint and never touching (adjacent inserts merge), so
// the representation of a given set is unique and two sets compare by their
// ranges. No heap: the ranges live in a LazyArray. Every mutating operation
// first works out how many ranges the result needs; if that exceeds N it
// returns an error and leaves the set as it was.

enum class RangeSetErrorCode : std::uint8_t {
    CapacityExceeded,  // the result would need more than N ranges
    NoFit,             // find_fit: no aligned block of that size inside a member range
    InvalidSize,       // find_fit: size 0
    InvalidAlignment,  // find_fit: alignment not a power of two
};

template <AddressType A>
struct RangeSetError {
    RangeSetErrorCode code = RangeSetErrorCode::CapacityExceeded;
    // CapacityExceeded: the range being inserted or removed.
    // NoFit / InvalidSize / InvalidAlignment: the window that was searched.
    AddressRange<A> range{};
    std::uint64_t size = 0;       // find_fit request
    std::uint64_t alignment = 0;  // find_fit request
    std::size_t capacity = 0;     // N of the set
    AddressRange<A> largest{};    // NoFit: the largest member block inside the window

    template <CharSink S>
    constexpr void format(S& sink) const {
        if constexpr (std::is_same_v<A, PhysicalAddress>) {
            kmem::print(sink, "physical range set: ");
        } else {
            kmem::print(sink, "virtual range set: ");
        }
        switch (code) {
            case RangeSetErrorCode::CapacityExceeded:
                kmem::print(sink, "no room for ", range, ": the result needs more than ", capacity, " ranges");
                break;
            case RangeSetErrorCode::NoFit:
                kmem::print(sink, "no block of ", kmem::size(size), " aligned to ", kmem::hex(alignment), " in ",
                            range, " (largest block there ", largest, ", ", kmem::size(largest.size()));
                sink.put(')');
                break;
            case RangeSetErrorCode::InvalidSize:
                kmem::print(sink, "requested a block of size 0 in ", range);
                break;
            case RangeSetErrorCode::InvalidAlignment:
                kmem::print(sink, "alignment ", kmem::hex(alignment), " is not a power of two (block of ",
                            kmem::size(size));
                sink.put(')');
                break;
        }
    }
};

namespace range_set_detail {

// What RangeSet<A, N> does, with N a run-time bound: the ranges are the
// first `count` of `capacity` slots at `ranges`. Instantiated once per
// address type rather than once per capacity (issue 13: the loader carried
// insert/remove/find_fit for 1024, 256 and 8 ranges); RangeSet is a thin
// wrapper that owns the slots.
template <AddressType A>
struct Core {
    using range_type = AddressRange<A>;
    using error_type = RangeSetError<A>;

    static constexpr A min(A a, A b) { return a < b ? a : b; }
    static constexpr A max(A a, A b) { return a < b ? b : a; }

    static constexpr error_type capacity_error(range_type range, std::size_t capacity) {
        error_type error{};
        error.code = RangeSetErrorCode::CapacityExceeded;
        error.range = range;
        error.capacity = capacity;
        return error;
    }

    // Index of the first member whose end lies above `address`: the only
    // member that can contain it, and where a search for anything starting
    // at `address` begins. Members' ends increase, so a binary search works.
    static constexpr std::size_t first_ending_after(const range_type* ranges, std::size_t count, A address) {
        std::size_t low = 0;
        std::size_t high = count;
        while (low < high) {
            const std::size_t middle = low + (high - low) / 2;
            if (ranges[middle].end() <= address) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return low;
    }

    // Replaces members [first, last) with `pieces`; the caller has checked
    // that the result fits in the capacity.
    static constexpr void splice(range_type* ranges, std::size_t& count, std::size_t capacity, std::size_t first,
                                 std::size_t last, const range_type* pieces, std::size_t piece_count) {
        const std::size_t tail = count - last;
        const std::size_t new_last = first + piece_count;
        KMEM_ASSERT(new_last + tail <= capacity);
        if (new_last > last) {
            for (std::size_t i = tail; i > 0; --i) set_slot(ranges + new_last + i - 1, ranges[last + i - 1]);
        } else if (new_last < last) {
            for (std::size_t i = 0; i < tail; ++i) set_slot(ranges + new_last + i, ranges[last + i]);
        }
        for (std::size_t i = 0; i < piece_count; ++i) set_slot(ranges + first + i, pieces[i]);
        count = new_last + tail;
    }

    static constexpr Expected<void, error_type> insert(range_type* ranges, std::size_t& count, std::size_t capacity,
                                                       range_type range) {
        if (range.empty()) return {};
        // [first, last): members that overlap or touch `range`.
        std::size_t first = 0;
        while (first < count && ranges[first].end() < range.begin()) ++first;
        std::size_t last = first;
        while (last < count && ranges[last].begin() <= range.end()) ++last;
        if (first == last) {
            if (count == capacity) return unexpected(capacity_error(range, capacity));
            splice(ranges, count, capacity, first, last, &range, 1);
            return {};
        }
        const range_type merged{min(range.begin(), ranges[first].begin()), max(range.end(), ranges[last - 1].end())};
        splice(ranges, count, capacity, first, last, &merged, 1);
        return {};
    }

    static constexpr Expected<void, error_type> remove(range_type* ranges, std::size_t& count, std::size_t capacity,
                                                       range_type range) {
        if (range.empty()) return {};
        const std::size_t first = first_ending_after(ranges, count, range.begin());
        std::size_t last = first;
        while (last < count && ranges[last].begin() < range.end()) ++last;
        if (first == last) return {};
        std::array<range_type, 2> pieces{};
        std::size_t piece_count = 0;
        if (ranges[first].begin() < range.begin()) pieces[piece_count++] = {ranges[first].begin(), range.begin()};
        if (range.end() < ranges[last - 1].end()) pieces[piece_count++] = {range.end(), ranges[last - 1].end()};
        if (count - (last - first) + piece_count > capacity) return unexpected(capacity_error(range, capacity));
        splice(ranges, count, capacity, first, last, pieces.data(), piece_count);
        return {};
    }

    static constexpr range_type largest(const range_type* ranges, std::size_t count, range_type within) {
        range_type best{};
        for (std::size_t i = 0; i < count; ++i) {
            const range_type piece = ranges[i].intersection(within);
            if (piece.size() > best.size()) best = piece;
        }
        return best;
    }

    static constexpr Expected<range_type, error_type> find_fit(const range_type* ranges, std::size_t count,
                                                               std::size_t capacity, std::uint64_t size,
                                                               std::uint64_t alignment, range_type within) {
        error_type error{};
        error.range = within;
        error.size = size;
        error.alignment = alignment;
        error.capacity = capacity;
        if (!is_power_of_two(alignment)) {
            error.code = RangeSetErrorCode::InvalidAlignment;
            return unexpected(error);
        }
        if (size == 0) {
            error.code = RangeSetErrorCode::InvalidSize;
            return unexpected(error);
        }
        for (std::size_t i = first_ending_after(ranges, count, within.begin()); i < count; ++i) {
            const range_type candidate = ranges[i].intersection(within);
            if (candidate.empty()) break;  // members are sorted: nothing further lies in `within`
            const auto start = candidate.begin().align_up(alignment);
            if (!start) break;  // aligning overflowed; later members start higher still
            if (*start > candidate.end()) continue;
            if (candidate.end() - *start >= size) return range_type{*start, *start + size};
        }
        error.code = RangeSetErrorCode::NoFit;
        error.largest = largest(ranges, count, within);
        return unexpected(error);
    }
};

}  // namespace range_set_detail

template <AddressType A, std::size_t N>
class RangeSet {
    static_assert(N > 0, "a RangeSet needs room for at least one range");
    using Core = range_set_detail::Core<A>;

public:
    using address_type = A;
    using range_type = AddressRange<A>;
    using error_type = RangeSetError<A>;

    // Every address a member range can hold: a range cannot end at 2^64, so
    // this is the whole space as far as a RangeSet is concerned.
    static constexpr range_type kEverything{A(0), A(~std::uint64_t{0})};

    // User-provided, so that RangeSet{} does not zero all N slots first;
    // copies take the live ranges only.
    constexpr RangeSet() {}
    constexpr RangeSet(const RangeSet& other) { copy(other); }
    constexpr RangeSet& operator=(const RangeSet& other) {
        if (this != &other) copy(other);
        return *this;
    }

    static constexpr std::size_t capacity() { return N; }
    constexpr std::size_t size() const { return count_; }
    constexpr bool empty() const { return count_ == 0; }
    constexpr void clear() { count_ = 0; }

    constexpr const range_type* begin() const { return ranges_.data(); }
    constexpr const range_type* end() const { return ranges_.data() + count_; }
    constexpr const range_type& operator[](std::size_t index) const {
        KMEM_ASSERT(index < count_);
        return ranges_[index];
    }

    constexpr std::uint64_t total_size() const {
        std::uint64_t total = 0;
        for (const auto& range : *this) total += range.size();
        return total;
    }

    // Only the live ranges count; what is left in unused slots does not.
    friend constexpr bool operator==(const RangeSet& lhs, const RangeSet& rhs) {
        if (lhs.count_ != rhs.count_) return false;
        for (std::size_t i = 0; i < lhs.count_; ++i)
            if (lhs.ranges_[i] != rhs.ranges_[i]) return false;
        return true;
    }

    constexpr bool contains(A address) const {
        const std::size_t index = first_ending_after(address);
        return index < count_ && ranges_[index].begin() <= address;
    }
    // Subset test: every address of `range` is in the set. The empty range is
    // a subset of any set (unlike AddressRange::contains, which asks about
    // its position).
    constexpr bool contains(range_type range) const {
        if (range.empty()) return true;
        // Members never touch, so a contained range lies inside one member.
        const std::size_t index = first_ending_after(range.begin());
        return index < count_ && ranges_[index].begin() <= range.begin() && range.end() <= ranges_[index].end();
    }
    constexpr bool overlaps(range_type range) const {
        if (range.empty()) return false;
        const std::size_t index = first_ending_after(range.begin());
        return index < count_ && ranges_[index].begin() < range.end();
    }

    // Adds every address of `range`, merging with members it overlaps or touches.
    constexpr Expected<void, error_type> insert(range_type range) {
        return Core::insert(ranges_.data(), count_, N, range);
    }

    // Removes every address of `range` that is in the set; addresses that are
    // not are ignored. Cutting a hole into a member splits it in two, which is
    // the one way a removal can run out of room.
    constexpr Expected<void, error_type> remove(range_type range) {
        return Core::remove(ranges_.data(), count_, N, range);
    }

    // The lowest block of `size` bytes starting at a multiple of `alignment`
    // that lies inside one member range and inside `within`. Lowest-first
    // keeps the answer a function of the set alone, which the planner's
    // determinism relies on.
    constexpr Expected<range_type, error_type> find_fit(std::uint64_t size, std::uint64_t alignment,
                                                        range_type within = kEverything) const {
        return Core::find_fit(ranges_.data(), count_, N, size, alignment, within);
    }

    // The largest piece of a member inside `within` (the lowest of equals);
    // empty when nothing of the set lies there.
    constexpr range_type largest(range_type within = kEverything) const {
        return Core::largest(ranges_.data(), count_, within);
    }

private:
    constexpr std::size_t first_ending_after(A address) const {
        return Core::first_ending_after(ranges_.data(), count_, address);
    }

    constexpr void copy(const RangeSet& other) {
        for (std::size_t i = 0; i < other.count_; ++i) ranges_.set(i, other.ranges_[i]);
        count_ = other.count_;
    }

    LazyArray<range_type, N> ranges_;
    std::size_t count_ = 0;
};

template <std::size_t N>
using PhysicalRangeSet = RangeSet<PhysicalAddress, N>;
template <std::size_t N>
using VirtualRangeSet = RangeSet<VirtualAddress, N>;

}  // namespace kmem
