// The loader's Zkr collector against a played seed CSR: only ES16 samples
// count, low byte first; BIST and WAIT are skipped; DEAD and a trapped access
// stop it; a source that never becomes ready ends at the poll limit.

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "reference_loader/zkr.hpp"

namespace zkr = loader::zkr;

namespace {

// Plays `script` in order, then repeats its last read.
struct Player {
    std::vector<zkr::SeedRead> script;
    std::size_t next = 0;
    int reads = 0;
    zkr::SeedRead operator()() {
        ++reads;
        const zkr::SeedRead read = script[next];
        if (next + 1 < script.size()) ++next;
        return read;
    }
};

zkr::SeedRead es16(std::uint16_t bits) { return {zkr::kEs16 | bits | (std::uint64_t{0x5a} << 16), 1}; }

}  // namespace

TEST_CASE("ES16 samples fill the buffer low byte first; BIST and WAIT are skipped") {
    Player player{{{zkr::kBist, 1}, es16(0x1234), {zkr::kWait, 1}, es16(0xabcd), {zkr::kWait | 0xffff, 1}, es16(0x0102)}};
    std::uint8_t out[6] = {};
    const zkr::Collected collected = zkr::collect(player, out);
    CHECK(collected.outcome == zkr::Outcome::kFilled);
    CHECK(collected.bytes == 6);
    const std::uint8_t expected[6] = {0x34, 0x12, 0xcd, 0xab, 0x02, 0x01};
    for (int i = 0; i < 6; ++i) CHECK(out[i] == expected[i]);
    CHECK(player.reads == 6);
}

TEST_CASE("a trapped access stops at once") {
    Player player{{es16(0x1111), {0, 0}}};
    std::uint8_t out[32] = {};
    const zkr::Collected collected = zkr::collect(player, out);
    CHECK(collected.outcome == zkr::Outcome::kTrapped);
    CHECK(collected.bytes == 2);
    CHECK(player.reads == 2);
}

TEST_CASE("DEAD stops, and says how much came before") {
    Player player{{es16(0x1111), es16(0x2222), {zkr::kDead | 0x3333, 1}, es16(0x4444)}};
    std::uint8_t out[32] = {};
    const zkr::Collected collected = zkr::collect(player, out);
    CHECK(collected.outcome == zkr::Outcome::kDead);
    CHECK(collected.bytes == 4);
}

TEST_CASE("a source stuck in WAIT ends at the poll limit") {
    Player player{{es16(0x1111), {zkr::kWait, 1}}};
    std::uint8_t out[32] = {};
    const zkr::Collected collected = zkr::collect(player, out);
    CHECK(collected.outcome == zkr::Outcome::kTimedOut);
    CHECK(collected.bytes == 2);
    CHECK(player.reads == zkr::kMaxPolls);
}
