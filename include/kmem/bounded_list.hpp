#pragma once
// FixedList's interface over storage its owner gives: the capacity is
// chosen at run time, so a list can be sized by what the machine at hand
// needs rather than by the largest machine (the reference loader counts the
// harts of the device tree and takes that much room; a host tool gives the
// largest capacity). Without storage the capacity is 0 and every push fails.
//
// The storage is raw room for `capacity` objects: push() begins each
// element's life, as in LazyArray, so T must be trivially copyable and
// destructible. The list does not own the storage: copying a list would
// leave two lists writing the same room, so only assignment exists, and it
// copies the live elements into the target's own storage.

#include <cstddef>
#include <memory>
#include <type_traits>

#include "kmem/assert.hpp"

namespace kmem {

template <class T>
class BoundedList {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "elements are overwritten and abandoned without constructor or destructor calls");

public:
    constexpr BoundedList() = default;
    constexpr BoundedList(T* storage, std::size_t capacity) : items_(storage), capacity_(capacity) {}
    BoundedList(const BoundedList&) = delete;
    // The other list's elements, into this list's storage (which must hold them).
    constexpr BoundedList& operator=(const BoundedList& other) {
        if (this == &other) return *this;
        KMEM_ASSERT(other.size_ <= capacity_);
        size_ = 0;
        for (const T& item : other) set(size_++, item);
        return *this;
    }

    // New room; the list starts empty.
    constexpr void assign_storage(T* storage, std::size_t capacity) {
        items_ = storage;
        capacity_ = capacity;
        size_ = 0;
    }

    [[nodiscard]] constexpr bool push(const T& item) {
        if (size_ == capacity_) return false;
        set(size_, item);
        ++size_;
        return true;
    }
    constexpr void pop() {
        KMEM_ASSERT(size_ > 0);
        --size_;
    }
    constexpr void clear() { size_ = 0; }

    constexpr std::size_t size() const { return size_; }
    constexpr std::size_t capacity() const { return capacity_; }
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

    constexpr T* begin() { return items_; }
    constexpr T* end() { return items_ + size_; }
    constexpr const T* begin() const { return items_; }
    constexpr const T* end() const { return items_ + size_; }

private:
    constexpr void set(std::size_t index, const T& item) {
        if (std::is_constant_evaluated()) {
            items_[index] = item;  // constant evaluation: the owner's storage is a live array
        } else {
            std::construct_at(items_ + index, item);
        }
    }

    T* items_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
};

}  // namespace kmem
