#pragma once
// Room for N objects of T, each constructed when it is first written rather
// than all up front. The planner's lists have capacities for 1024 harts
// (the Plan is over 600 KiB); value-initialising them at every boot cost
// more instructions than planning a small machine, and the lists hold a few
// entries there. FixedList and RangeSet keep their elements here.
//
// The owner knows which slots are alive (its size) and reads only those;
// set() begins a slot's life (or replaces its object). T must be trivially
// copyable and destructible: slots are overwritten and abandoned without
// destructor calls, and a copy of an owner copies its live slots only.
//
// Constant evaluation cannot begin the life of an element of an inactive
// union member, so there the whole array is value-initialised (O(N), at
// compile time only) and set() assigns; at run time nothing is touched
// until set() constructs the slot in place.

#include <cstddef>
#include <memory>
#include <type_traits>

namespace kmem {

// LazyArray::set() on a slot given by address: for code that works on a
// LazyArray's slots without knowing N (RangeSet's capacity-independent core).
template <class T>
constexpr void set_slot(T* slot, const T& item) {
    if (std::is_constant_evaluated()) {
        *slot = item;
    } else {
        std::construct_at(slot, item);
    }
}

template <class T, std::size_t N>
class LazyArray {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "slots are overwritten and abandoned without constructor or destructor calls");

public:
    constexpr LazyArray() : storage_(std::is_constant_evaluated() ? Storage(kWhole) : Storage()) {}
    // Only the owner knows how many slots are alive, so it copies them.
    LazyArray(const LazyArray&) = delete;
    LazyArray& operator=(const LazyArray&) = delete;

    constexpr T* data() { return storage_.items; }
    constexpr const T* data() const { return storage_.items; }
    // A slot that set() has given life to.
    constexpr T& operator[](std::size_t index) { return storage_.items[index]; }
    constexpr const T& operator[](std::size_t index) const { return storage_.items[index]; }

    constexpr void set(std::size_t index, const T& item) { set_slot(storage_.items + index, item); }

private:
    struct Whole {};
    static constexpr Whole kWhole{};
    union Storage {
        constexpr Storage() {}
        constexpr explicit Storage(Whole) : items{} {}
        T items[N];
    };
    Storage storage_;
};

}  // namespace kmem
