#pragma once
// Stopping the machine, the trap report, timestamps and the small CSR helpers
// the loader shares between its parts.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "console.hpp"
#include "handoff.hpp"
#include "loader_stats.h"

extern "C" {
// The sifive,test device ("finisher") when the device tree has one, else 0.
// entry.S reads it too, for a trap inside the trap handler.
extern std::uint64_t loader_exit_device;
// Where the instructions went (loader_stats.h), in the image's header page
// (image_header.S).
extern loader_stats loader_stats_record;
}

namespace loader {

inline constexpr std::uint32_t kExitFailure = 1;

struct Timestamp {
    std::uint64_t time = 0;     // rdtime, in timebase ticks
    std::uint64_t instret = 0;  // rdinstret: mcounteren.IR must let S-mode read it (OpenSBI does)
};

inline Timestamp read_timestamp() {
    Timestamp stamp;
    asm volatile("csrr %0, time\n\tcsrr %1, instret" : "=r"(stamp.time), "=r"(stamp.instret));
    return stamp;
}

// The slots of the started harts, so that exit() parks them instead of
// leaving them waiting for a handoff that will not come.
void register_hart_slots(HartSlot* slots, std::size_t count);

// Stops the machine: code 0 is success. Through sifive,test when present,
// else SBI SRST shutdown (reason "system failure" for a nonzero code), and if
// that returns, every hart parks with interrupts off. Only the first hart to
// get here does it; any other parks.
[[noreturn]] void exit(std::uint32_t code);

// "loader: error: <message>", then exit(kExitFailure).
[[noreturn]] void fail(std::string_view message);

// The same with a message written by `body(Console&)`.
[[noreturn]] void fail_line(LineBody body);
template <class Body>
[[noreturn]] void fail_with(Body&& body) {
    fail_line(line_body(body));
}


}  // namespace loader
