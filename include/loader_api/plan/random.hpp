#pragma once
// The planner's randomness: a hash of the entropy bytes keys SplitMix64
// streams, one per purpose, so that the same entropy always gives the same
// plan and the bytes handed to the kernel (BootInfo.random) never come from
// the stream that chose the KASLR positions.
//
// SplitMix64: Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators" (OOPSLA 2014); the constants are the published ones.

#include <cstddef>
#include <cstdint>
#include <span>

namespace loader_api::plan_random {

constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class SplitMix64 {
public:
    constexpr explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    constexpr std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ull;
        return mix64(state_);
    }
    // Uniform in [0, bound) by multiply-high (bias below 2^-64 * bound).
    constexpr std::uint64_t below(std::uint64_t bound) {
        if (bound == 0) return 0;
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
    }

private:
    std::uint64_t state_;
};

// Absorbs bytes eight at a time through the mixer; the length goes in last
// so that trailing zero bytes change the result.
class Hasher {
public:
    constexpr void add(std::span<const std::uint8_t> bytes) {
        std::uint64_t word = 0;
        unsigned filled = 0;
        for (std::uint8_t byte : bytes) {
            word |= std::uint64_t{byte} << (8 * filled);
            if (++filled == 8) {
                absorb(word);
                word = 0;
                filled = 0;
            }
        }
        if (filled != 0) absorb(word);
        absorb(bytes.size());
    }
    constexpr void add(std::uint64_t value) { absorb(value); }
    constexpr std::uint64_t finish() const { return mix64(state_ ^ 0x5851f42d4c957f2dull); }

private:
    constexpr void absorb(std::uint64_t word) { state_ = mix64(state_ ^ word) + 0x9e3779b97f4a7c15ull; }
    std::uint64_t state_ = 0x6a09e667f3bcc908ull;
};

enum class Stream : std::uint64_t {
    Physmap = 1,
    Kernel = 2,
    Stacks = 3,
    BootInfoRandom = 4,
};

constexpr SplitMix64 stream(std::uint64_t key, Stream which) {
    return SplitMix64(mix64(key ^ mix64(static_cast<std::uint64_t>(which) * 0x9e3779b97f4a7c15ull)));
}

static_assert(mix64(0) == 0);
static_assert(SplitMix64(0).next() == 0xe220a8397b1dcdafull);  // the reference implementation's first output for seed 0

}  // namespace loader_api::plan_random
