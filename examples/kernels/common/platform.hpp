#pragma once
// What both kernels need around their own code: the trap vector, timestamps,
// parking a hart and stopping the machine with an exit code.

#include <cstdint>
#include <string_view>

#include "loader_api/boot_info.hpp"

namespace kernel {

inline std::uint64_t read_time() {
    std::uint64_t value;
    asm volatile("rdtime %0" : "=r"(value));
    return value;
}
inline std::uint64_t read_instret() {
    std::uint64_t value;
    asm volatile("rdinstret %0" : "=r"(value));
    return value;
}

// Timebase ticks as microseconds without overflowing for any realistic span.
constexpr std::uint64_t ticks_to_us(std::uint64_t ticks, std::uint64_t frequency) {
    if (frequency == 0) return 0;
    return ticks / frequency * 1'000'000 + ticks % frequency * 1'000'000 / frequency;
}

// First thing on every hart: the loader's trap vector (stvec at entry is
// undefined by the protocol) is replaced by the kernel's, which prints
// "FAIL: trap: ..." and stops the machine. Also records the BootInfo, which
// shutdown() needs to find the exit device.
void init_hart(const loader_api::BootInfo& info);

// Interrupts off, wfi forever.
[[noreturn]] void park();

// Stops the machine with `code` (0: success) and never returns. Through the
// device tree's sifive,test device (QEMU: status 0 for 0, else `code`), which
// it maps into the kernel's tables first since the protocol maps RAM only;
// without one, SBI system reset; if that returns too, the hart parks. The
// first hart to call it does it, any other parks.
[[noreturn]] void shutdown(std::uint32_t code);

// "<prefix><message>" on one line, then shutdown(code).
[[noreturn]] void fail(std::uint32_t code, std::string_view message);

}  // namespace kernel
