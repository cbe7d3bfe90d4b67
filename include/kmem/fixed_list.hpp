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

namespace detail {

// The interface FixedList and BoundedList (kmem/bounded_list.hpp) share,
// over the owner's room: Owner gives items() (the first slot), capacity(),
// set(index, item) (begins a slot's life) and its size_. The data stay in
// the owner, so that both lists remain standard-layout (reflect.hpp takes
// offsetof of the structs holding them).
template <class Owner, class T>
class ListBase {
public:
    [[nodiscard]] constexpr bool push(const T& item) {
        if (owner().size_ == owner().capacity()) return false;
        owner().set(owner().size_, item);
        ++owner().size_;
        return true;
    }
    constexpr void pop() {
        KMEM_ASSERT(owner().size_ > 0);
        --owner().size_;
    }
    constexpr void clear() { owner().size_ = 0; }

    constexpr std::size_t size() const { return owner().size_; }
    constexpr bool empty() const { return owner().size_ == 0; }

    constexpr T& operator[](std::size_t index) {
        KMEM_ASSERT(index < size());
        return owner().items()[index];
    }
    constexpr const T& operator[](std::size_t index) const {
        KMEM_ASSERT(index < size());
        return owner().items()[index];
    }
    constexpr T& back() { return (*this)[size() - 1]; }
    constexpr const T& back() const { return (*this)[size() - 1]; }

    constexpr T* begin() { return owner().items(); }
    constexpr T* end() { return owner().items() + size(); }
    constexpr const T* begin() const { return owner().items(); }
    constexpr const T* end() const { return owner().items() + size(); }

protected:
    // The other list's elements into this one's room (which must hold them).
    constexpr void copy_from(const Owner& other) {
        KMEM_ASSERT(other.size() <= owner().capacity());
        for (std::size_t i = 0; i < other.size(); ++i) owner().set(i, other[i]);
        owner().size_ = other.size();
    }

private:
    constexpr Owner& owner() { return static_cast<Owner&>(*this); }
    constexpr const Owner& owner() const { return static_cast<const Owner&>(*this); }
};

}  // namespace detail

template <class T, std::size_t N>
class FixedList : public detail::ListBase<FixedList<T, N>, T> {
public:
    static constexpr std::size_t kCapacity = N;

    // User-provided: value-initialisation (FixedList{}) would otherwise
    // zero all N elements before running it.
    constexpr FixedList() {}
    constexpr FixedList(const FixedList& other) { this->copy_from(other); }
    constexpr FixedList& operator=(const FixedList& other) {
        if (this != &other) this->copy_from(other);
        return *this;
    }

    constexpr std::size_t capacity() const { return N; }

private:
    friend class detail::ListBase<FixedList, T>;
    constexpr T* items() { return items_.data(); }
    constexpr const T* items() const { return items_.data(); }
    constexpr void set(std::size_t index, const T& item) { items_.set(index, item); }

    LazyArray<T, N> items_;
    std::size_t size_ = 0;
};

}  // namespace kmem
