#pragma once
// Names of the scause values an S-mode trap handler can see (privileged
// spec, "Supervisor Cause Register"), for the loader's and the kernels'
// trap reports.

#include <cstdint>
#include <string_view>

namespace riscv {

constexpr std::string_view trap_cause_name(std::uint64_t scause) {
    const bool interrupt = (scause >> 63) != 0;
    const std::uint64_t code = scause & ~(std::uint64_t{1} << 63);
    if (interrupt) {
        switch (code) {
            case 1: return "supervisor software interrupt";
            case 5: return "supervisor timer interrupt";
            case 9: return "supervisor external interrupt";
            case 13: return "counter-overflow interrupt";
            default: return "unknown interrupt";
        }
    }
    switch (code) {
        case 0: return "instruction address misaligned";
        case 1: return "instruction access fault";
        case 2: return "illegal instruction";
        case 3: return "breakpoint";
        case 4: return "load address misaligned";
        case 5: return "load access fault";
        case 6: return "store/AMO address misaligned";
        case 7: return "store/AMO access fault";
        case 8: return "environment call from U-mode";
        case 9: return "environment call from S-mode";
        case 12: return "instruction page fault";
        case 13: return "load page fault";
        case 15: return "store/AMO page fault";
        case 18: return "software check";
        case 19: return "hardware error";
        default: return "unknown exception";
    }
}

}  // namespace riscv
