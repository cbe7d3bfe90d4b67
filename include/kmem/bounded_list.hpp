#pragma once
// FixedList's interface over room its owner gives: the capacity is chosen
// at run time, so a list can be sized by what the machine at hand needs
// rather than by the largest machine (the reference loader counts the harts
// of the device tree and takes that much room; a host tool gives the
// largest capacity). Without room the capacity is 0 and every push fails.
//
// The room is raw memory for `capacity` objects: push() begins each
// element's life, as in LazyArray, so T must be trivially copyable and
// destructible. The list does not own the room: copying a list would leave
// two lists writing the same room, so only assignment exists, and it copies
// the live elements into the target's own room.

#include <cstddef>
#include <memory>
#include <type_traits>

#include "kmem/fixed_list.hpp"

namespace kmem {

template <class T>
class BoundedList : public detail::ListBase<BoundedList<T>, T> {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "elements are overwritten and abandoned without constructor or destructor calls");

public:
    constexpr BoundedList() = default;
    constexpr BoundedList(T* room, std::size_t capacity) : items_(room), capacity_(capacity) {}
    BoundedList(const BoundedList&) = delete;
    constexpr BoundedList& operator=(const BoundedList& other) {
        if (this != &other) this->copy_from(other);
        return *this;
    }

    // New room; the list starts empty.
    constexpr void assign_storage(T* room, std::size_t capacity) {
        items_ = room;
        capacity_ = capacity;
        size_ = 0;
    }

    constexpr std::size_t capacity() const { return capacity_; }

private:
    friend class detail::ListBase<BoundedList, T>;
    constexpr T* items() { return items_; }
    constexpr const T* items() const { return items_; }
    constexpr void set(std::size_t index, const T& item) {
        if (std::is_constant_evaluated()) {
            items_[index] = item;  // constant evaluation: the owner's room is a live array
        } else {
            std::construct_at(items_ + index, item);
        }
    }

    T* items_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
};

}  // namespace kmem
