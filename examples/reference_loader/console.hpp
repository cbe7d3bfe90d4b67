#pragma once
// The loader's console and levelled log. Output goes to the UART that
// /chosen/stdout-path names when the loader knows its kind (as Linux's
// earlycon does: a few instructions a character), else through SBI: DBCN
// where the implementation has it, else the legacy putchar (about 350 guest
// instructions a character under OpenSBI 1.1, and the only choice before the
// device tree is read); the EFI door uses the
// firmware's console while it may. Lines from several harts are kept whole
// by a spinlock around each line.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../common/spinlock.hpp"
#include "kmem/format.hpp"
#include "loader_api/fdt/stdout_uart.hpp"

#ifndef LOADER_LOG_LEVEL
#define LOADER_LOG_LEVEL 3
#endif

namespace loader {

// The EFI door prints through the firmware's ConOut until it leaves boot
// services (efi_door.cpp): non-null then. Every other path, and the EFI
// door afterwards, prints through SBI.
extern void* firmware_console;
// Up to kConsoleLineBytes of UTF-8, usually a whole line with its '\n'.
void firmware_console_write(std::string_view text);
inline constexpr std::size_t kConsoleLineBytes = 160;

// From the device tree on, the console writes to this UART directly
// (kNone: SBI). The trap report goes back to SBI first, in case the trap
// was the UART's own access fault.
void use_stdout_uart(const loader_api::fdt::StdoutUart& uart);
void use_sbi_console();
// Without a UART: whether SBI has DBCN (else the legacy putchar).
bool sbi_console_is_dbcn();
// Text to the UART or SBI, each '\n' as "\r\n".
void console_write(std::string_view text);

class Console : public kmem::SinkRef {
public:
    Console() : SinkRef(this, &put_into<Console>) {}
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;
    ~Console() { flush(); }

    // Whole lines go out at once: the device is chosen and the UART's
    // registers found once a line, not once a character (the default line
    // cost 56 instructions a character before, 46 after, formatting
    // included).
    void put(char c) {
        pending_[used_++] = c;
        if (c == '\n' || used_ == kConsoleLineBytes) flush();
    }

    void flush() {
        if (used_ == 0) return;
        if (firmware_console != nullptr)
            firmware_console_write({pending_, used_});
        else
            console_write({pending_, used_});
        used_ = 0;
    }

private:
    char pending_[kConsoleLineBytes];
    std::size_t used_ = 0;
};
static_assert(kmem::CharSink<Console>);

// kNotice is the default: one summary line before the handoff, besides
// every warning and error. On a board the console is slow (a line of 80
// characters is 7 ms at 115200 baud), so the rest waits for loader.log=info.
enum class LogLevel : std::uint8_t { kError = 0, kWarn = 1, kNotice = 2, kInfo = 3, kDebug = 4 };

// The most detailed level compiled in (meson option log_level).
inline constexpr LogLevel kMaxLogLevel = static_cast<LogLevel>(LOADER_LOG_LEVEL);

constexpr std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::kError: return "error";
        case LogLevel::kWarn: return "warn";
        case LogLevel::kNotice: return "notice";
        case LogLevel::kInfo: return "info";
        case LogLevel::kDebug: return "debug";
    }
    return "?";
}

// The level in force: starts at kNotice (or the compiled-in maximum when that
// is lower); the command line word `loader.log=<level>` sets it, never past
// kMaxLogLevel.
LogLevel runtime_log_level();
void set_runtime_log_level(LogLevel level);

// Whole lines under one lock (platform.cpp).
examples::SpinLock& console_lock();

// Where the console's instructions go (loader_stats.h): counted per line.
std::uint64_t console_line_begin();
void console_line_end(std::uint64_t begin);

class ConsoleLine {
public:
    ConsoleLine() : begin_(console_line_begin()), locked_(true) { console_lock().lock(); }
    // For the trap report: a hart that traps while it holds the lock must
    // still print, so taking it gives up after about a second under QEMU,
    // and then the line goes out unlocked (and is not unlocked after).
    struct Forced {};
    explicit ConsoleLine(Forced) : begin_(console_line_begin()), locked_(console_lock().try_lock_for(1u << 24)) {}
    ~ConsoleLine() {
        console_.flush();  // the EFI console's buffer, inside the lock and the count
        if (locked_) console_lock().unlock();
        console_line_end(begin_);
    }
    ConsoleLine(const ConsoleLine&) = delete;
    ConsoleLine& operator=(const ConsoleLine&) = delete;
    Console& out() { return console_; }

private:
    std::uint64_t begin_;
    bool locked_;
    Console console_;
};

// A message body behind a function pointer: the line around it (lock,
// prefix, newline, count) is written out of line, once in the image rather
// than at each of the loader's fifty-odd log and fail sites.
struct LineBody {
    void (*write)(void* body, Console& out);
    void* body;
};
template <class Body>
LineBody line_body(Body& body) {
    return {[](void* erased, Console& out) { (*static_cast<Body*>(erased))(out); }, &body};
}

// "loader: [<level>: ]<body>\n" under the console lock (platform.cpp).
void write_log_line(LogLevel level, LineBody body);

// log<LogLevel::kInfo>([&](Console& out) { kmem::print(out, "..."); });
// Levels above the compiled-in maximum cost nothing: the body is discarded.
template <LogLevel level, class Body>
void log(Body&& body) {
    if constexpr (level <= kMaxLogLevel) {
        if (level > runtime_log_level()) return;
        write_log_line(level, line_body(body));
    }
}

}  // namespace loader
