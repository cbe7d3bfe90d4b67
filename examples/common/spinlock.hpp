#pragma once
// A test-and-set lock on a 32-bit word, shared by the reference loader and
// the example kernels (their console lines). GCC 12 has no inline sub-word
// atomics for RISC-V (it would call libatomic), a word-sized amoswap it has.

#include <cstdint>

namespace examples {

class SpinLock {
public:
    void lock() {
        while (__atomic_exchange_n(&word_, 1u, __ATOMIC_ACQUIRE) != 0) {
            // Spin on a plain load so that waiting harts do not keep taking
            // the cache line away from the holder.
            while (__atomic_load_n(&word_, __ATOMIC_RELAXED) != 0) {
            }
        }
    }
    // For a hart that traps while it may hold the lock itself: give up after
    // a bounded spin and go on unlocked rather than deadlock on the report.
    bool try_lock_for(std::uint32_t spins) {
        for (std::uint32_t i = 0; i < spins; ++i)
            if (__atomic_exchange_n(&word_, 1u, __ATOMIC_ACQUIRE) == 0) return true;
        return false;
    }
    void unlock() { __atomic_store_n(&word_, 0u, __ATOMIC_RELEASE); }

private:
    std::uint32_t word_ = 0;
};

}  // namespace examples
