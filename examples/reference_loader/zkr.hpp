#pragma once
// Entropy from the Zkr `seed` CSR (RISC-V scalar cryptography, Zkr): each
// read returns OPST in bits 31:30 and, when OPST is ES16, 16 bits of raw
// entropy in bits 15:0. BIST and WAIT are transient, DEAD is final. The
// reader is a parameter so that the host tests can play the CSR.

#include <cstddef>
#include <cstdint>
#include <span>

namespace loader::zkr {

inline constexpr std::uint64_t kOpstMask = std::uint64_t{3} << 30;
inline constexpr std::uint64_t kBist = std::uint64_t{0} << 30;
inline constexpr std::uint64_t kWait = std::uint64_t{1} << 30;
inline constexpr std::uint64_t kEs16 = std::uint64_t{2} << 30;
inline constexpr std::uint64_t kDead = std::uint64_t{3} << 30;

// A bound on reads, so that a source stuck in WAIT or BIST cannot hang the boot.
inline constexpr int kMaxPolls = 100000;

struct SeedRead {
    std::uint64_t value = 0;
    std::uint64_t ok = 0;  // 0: the access trapped (M-mode did not grant S-mode access)
};

enum class Outcome : std::uint8_t { kFilled, kTrapped, kDead, kTimedOut };

struct Collected {
    Outcome outcome = Outcome::kTimedOut;
    std::size_t bytes = 0;  // filled so far: all of `out` exactly when kFilled
};

// Fills `out` (an even number of bytes) two bytes per ES16 sample, low byte first.
template <class Read>
constexpr Collected collect(Read&& read, std::span<std::uint8_t> out) {
    Collected result;
    for (int poll = 0; poll < kMaxPolls && result.bytes + 2 <= out.size(); ++poll) {
        const SeedRead sample = read();
        if (sample.ok == 0) {
            result.outcome = Outcome::kTrapped;
            return result;
        }
        const std::uint64_t status = sample.value & kOpstMask;
        if (status == kDead) {
            result.outcome = Outcome::kDead;
            return result;
        }
        if (status != kEs16) continue;
        out[result.bytes++] = static_cast<std::uint8_t>(sample.value);
        out[result.bytes++] = static_cast<std::uint8_t>(sample.value >> 8);
    }
    result.outcome = result.bytes == out.size() ? Outcome::kFilled : Outcome::kTimedOut;
    return result;
}

}  // namespace loader::zkr
