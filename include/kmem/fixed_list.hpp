#pragma once
// A list with a fixed capacity: target code has no heap, so every list the
// readers and the planner fill has a capacity chosen up front. push()
// refuses (returns false) when full, so the caller can report which limit
// was hit instead of truncating silently. Constructing one costs O(1) and
// copying one O(size): elements live in a LazyArray.

#include <cstddef>

#include "kmem/assert.hpp"
#include "kmem/lazy_array.hpp"

namespace kmem {

template <class T, std::size_t N>
class FixedList {
public:
    static constexpr std::size_t kCapacity = N;

    // User-provided: value-initialisation (FixedList{}) would otherwise
    // zero all N elements before running it.
    constexpr FixedList() {}
    constexpr FixedList(const FixedList& other) { copy(other); }
    constexpr FixedList& operator=(const FixedList& other) {
        if (this != &other) copy(other);
        return *this;
    }

    [[nodiscard]] constexpr bool push(const T& item) {
        if (size_ == N) return false;
        items_.set(size_, item);
        ++size_;
        return true;
    }
    constexpr void pop() {
        KMEM_ASSERT(size_ > 0);
        --size_;
    }
    constexpr void clear() { size_ = 0; }

    constexpr std::size_t size() const { return size_; }
    constexpr bool empty() const { return size_ == 0; }

    constexpr T& operator[](std::size_t index) {
        KMEM_ASSERT(index < size_);
        return items_[index];
    }
    constexpr const T& operator[](std::size_t index) const {
        KMEM_ASSERT(index < size_);
        return items_[index];
    }
    constexpr T& back() { return (*this)[size_ - 1]; }
    constexpr const T& back() const { return (*this)[size_ - 1]; }

    constexpr T* begin() { return items_.data(); }
    constexpr T* end() { return items_.data() + size_; }
    constexpr const T* begin() const { return items_.data(); }
    constexpr const T* end() const { return items_.data() + size_; }

private:
    constexpr void copy(const FixedList& other) {
        for (std::size_t i = 0; i < other.size_; ++i) items_.set(i, other.items_[i]);
        size_ = other.size_;
    }

    LazyArray<T, N> items_;
    std::size_t size_ = 0;
};

}  // namespace kmem
