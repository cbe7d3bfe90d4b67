#pragma once
// Half-open address ranges [begin, end). RangeSet<A, N> (sorted, merged,
// fixed capacity) follows below AddressRange.

#include <array>
#include <cstddef>
#include <cstdint>

#include "kmem/address.hpp"
#include "kmem/format.hpp"

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
        write_hex(sink, begin_.value());
        write(sink, ", ");
        write_hex(sink, end_.value());
        sink.put(')');
    }

private:
    A begin_{};
    A end_{};
};

using PhysicalRange = AddressRange<PhysicalAddress>;
using VirtualRange = AddressRange<VirtualAddress>;

}  // namespace kmem
