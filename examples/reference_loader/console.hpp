#pragma once
// The loader's console and levelled log. Output goes through the legacy SBI
// putchar, so no UART driver is needed on any OpenSBI machine (the EFI door
// uses the firmware's console while it may). Lines from
// several harts are kept whole by a spinlock around each line.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kmem/format.hpp"
#include "sbi.hpp"

#ifndef LOADER_LOG_LEVEL
#define LOADER_LOG_LEVEL 2
#endif

namespace loader {

// The EFI door prints through the firmware's ConOut until it leaves boot
// services (efi_door.cpp): non-null then. Every other path, and the EFI
// door afterwards, prints through SBI.
extern void* firmware_console;
// Up to kConsoleLineBytes of UTF-8, usually a whole line with its '\n'.
void firmware_console_write(std::string_view text);
inline constexpr std::size_t kConsoleLineBytes = 160;

class Console {
public:
    Console() = default;
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;
    ~Console() { flush(); }

    void put(char c) {
        if (firmware_console == nullptr) {
            if (c == '\n') sbi::console_putchar('\r');
            sbi::console_putchar(c);
            return;
        }
        pending_[used_++] = c;
        if (c == '\n' || used_ == kConsoleLineBytes) flush();
    }

private:
    void flush() {
        if (used_ > 0 && firmware_console != nullptr) firmware_console_write({pending_, used_});
        used_ = 0;
    }

    char pending_[kConsoleLineBytes];
    std::size_t used_ = 0;
};
static_assert(kmem::CharSink<Console>);

enum class LogLevel : std::uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// The most detailed level compiled in (meson option log_level).
inline constexpr LogLevel kMaxLogLevel = static_cast<LogLevel>(LOADER_LOG_LEVEL);

constexpr std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::kError: return "error";
        case LogLevel::kWarn: return "warn";
        case LogLevel::kInfo: return "info";
        case LogLevel::kDebug: return "debug";
    }
    return "?";
}

// The level in force: starts at the compiled-in maximum, the kernel command
// line word `loader.log=<level>` can lower it (never raise it past kMaxLogLevel).
LogLevel runtime_log_level();
void set_runtime_log_level(LogLevel level);

// Whole lines under a lock. A hart that traps while holding the lock must
// still be able to print, so taking it gives up after a bounded spin.
void console_lock();
void console_unlock();

class ConsoleLine {
public:
    ConsoleLine() { console_lock(); }
    ~ConsoleLine() { console_unlock(); }
    ConsoleLine(const ConsoleLine&) = delete;
    ConsoleLine& operator=(const ConsoleLine&) = delete;
    Console& out() { return console_; }

private:
    Console console_;
};

// log<LogLevel::kInfo>([&](Console& out) { kmem::write(out, "..."); });
// Levels above the compiled-in maximum cost nothing: the body is discarded.
template <LogLevel level, class Body>
void log(Body&& body) {
    if constexpr (level <= kMaxLogLevel) {
        if (level > runtime_log_level()) return;
        ConsoleLine line;
        kmem::write(line.out(), "loader: ");
        if constexpr (level != LogLevel::kInfo) {
            kmem::write(line.out(), level_name(level));
            kmem::write(line.out(), ": ");
        }
        body(line.out());
        line.out().put('\n');
    }
}

}  // namespace loader
