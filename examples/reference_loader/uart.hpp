#pragma once
// Writing one character to the UART /chosen/stdout-path names, set up by the
// firmware (clock, baud rate, line format): the registers a polled writer
// needs and nothing else. ns16550 (and the DesignWare 8250 that copies it):
// THR at register 0, LSR at 5, LSR.THRE (bit 5) set while THR can take a
// byte. SiFive UART: txdata at byte offset 0, bit 31 set while its FIFO is
// full (SiFive FU540-C000 manual, chapter "UART").

#include <cstdint>

#include "loader_api/fdt/stdout_uart.hpp"

namespace loader::uart {

// A UART that never becomes ready drops characters instead of hanging the
// boot: about 100 ms of polling under QEMU, far beyond one character at
// 9600 baud on a board.
inline constexpr std::uint32_t kReadyPolls = 1u << 20;

inline std::uint32_t read_register(const loader_api::fdt::StdoutUart& uart, std::uint32_t index) {
    const std::uint64_t address = uart.base.value() + (std::uint64_t{index} << uart.reg_shift);
    if (uart.reg_io_width == 4) return *reinterpret_cast<volatile std::uint32_t*>(address);
    return *reinterpret_cast<volatile std::uint8_t*>(address);
}

inline void write_register(const loader_api::fdt::StdoutUart& uart, std::uint32_t index, std::uint32_t value) {
    const std::uint64_t address = uart.base.value() + (std::uint64_t{index} << uart.reg_shift);
    if (uart.reg_io_width == 4)
        *reinterpret_cast<volatile std::uint32_t*>(address) = value;
    else
        *reinterpret_cast<volatile std::uint8_t*>(address) = static_cast<std::uint8_t>(value);
}

inline void put(const loader_api::fdt::StdoutUart& uart, char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (uart.kind == loader_api::fdt::UartKind::kSifive) {
        volatile auto* txdata = reinterpret_cast<volatile std::uint32_t*>(uart.base.value());
        for (std::uint32_t poll = 0; poll < kReadyPolls && (*txdata & 0x8000'0000u) != 0; ++poll) {}
        *txdata = byte;
        return;
    }
    constexpr std::uint32_t kThr = 0, kLsr = 5, kLsrThre = 1u << 5;
    for (std::uint32_t poll = 0; poll < kReadyPolls && (read_register(uart, kLsr) & kLsrThre) == 0; ++poll) {}
    write_register(uart, kThr, byte);
}

}  // namespace loader::uart
