// exit(), the trap report, the console lock and the log level.

#include "platform.hpp"

#include "../common/sbi.hpp"
#include "uart.hpp"
#include "../common/trap_cause.hpp"

extern "C" {
// In .data, not .bss: entry.S's early failure path reads it before .bss is
// cleared, when a firmware that copied the image left anything there.
[[gnu::section(".data.loader_exit_device")]] std::uint64_t loader_exit_device = 0;
}

namespace loader {
namespace {

namespace sbi = examples::sbi;

examples::SpinLock console_line_lock;
std::uint32_t exit_claimed = 0;
LogLevel log_level = kMaxLogLevel < LogLevel::kNotice ? kMaxLogLevel : LogLevel::kNotice;
loader_api::fdt::StdoutUart console_uart{};
bool sbi_has_dbcn = false;
HartSlot* hart_slots = nullptr;
std::size_t hart_slot_count = 0;

// sifive,test ("finisher") commands: QEMU exits with status 0 for pass and
// with the upper 16 bits for fail.
constexpr std::uint32_t kFinisherPass = 0x5555;
constexpr std::uint32_t kFinisherFail = 0x3333;

}  // namespace

LogLevel runtime_log_level() { return log_level; }
void set_runtime_log_level(LogLevel level) { log_level = level <= kMaxLogLevel ? level : kMaxLogLevel; }

void use_stdout_uart(const loader_api::fdt::StdoutUart& uart) {
    console_uart = uart;
    if (uart.kind == loader_api::fdt::UartKind::kNone) sbi_has_dbcn = sbi::probe_extension(sbi::Eid::kDbcn);
}

void use_sbi_console() { console_uart = {}; }
bool sbi_console_is_dbcn() { return sbi_has_dbcn; }

namespace {
// Inlined into console_write's loop, with `uart` a copy there: the device
// is chosen and its registers found in registers, not memory, per byte.
[[gnu::always_inline]] inline void put_byte(const loader_api::fdt::StdoutUart& uart, char c) {
    if (uart.kind != loader_api::fdt::UartKind::kNone)
        uart::put(uart, c);
    else if (sbi_has_dbcn)
        sbi::debug_console_write_byte(c);
    else
        sbi::console_putchar(c);
}
}  // namespace

void console_write(std::string_view text) {
    loader_stats_record.console_chars += text.size();
    const loader_api::fdt::StdoutUart uart = console_uart;
    for (const char c : text) {
        if (c == '\n') put_byte(uart, '\r');
        put_byte(uart, c);
    }
}

std::uint64_t console_line_begin() { return read_timestamp().instret; }
void console_line_end(std::uint64_t begin) { loader_stats_record.console += read_timestamp().instret - begin; }

examples::SpinLock& console_lock() { return console_line_lock; }

void register_hart_slots(HartSlot* slots, std::size_t count) {
    hart_slots = slots;
    hart_slot_count = count;
}

void exit(std::uint32_t code) {
    if (__atomic_exchange_n(&exit_claimed, 1u, __ATOMIC_ACQ_REL) != 0) loader_park();
    for (std::size_t i = 0; i < hart_slot_count; ++i) {
        HartSlot& slot = hart_slots[i];
        if (__atomic_load_n(&slot.record.state, __ATOMIC_ACQUIRE) == HANDOFF_STATE_WAIT)
            publish(slot.record, HandoffState::kPark);
    }
    if (loader_exit_device != 0) {
        const std::uint32_t clamped = code > 0xffff ? 0xffff : code;
        const std::uint32_t command = code == 0 ? kFinisherPass : (clamped << 16) | kFinisherFail;
        *reinterpret_cast<volatile std::uint32_t*>(loader_exit_device) = command;
    }
    // Tried even when not probed: an absent extension just returns an error.
    const sbi::Result reset = sbi::system_reset(
        sbi::ResetType::kShutdown, code == 0 ? sbi::ResetReason::kNone : sbi::ResetReason::kSystemFailure);
    log<LogLevel::kError>([&](Console& out) {
        kmem::print(out, "could not power off (SBI system_reset: ", sbi::error_name(reset.error),
                    "); parking every hart");
    });
    loader_park();
}

void write_log_line(LogLevel level, LineBody body) {
    ConsoleLine line;
    kmem::print(line.out(), "loader: ");
    if (level != LogLevel::kInfo && level != LogLevel::kNotice) kmem::print(line.out(), level_name(level), ": ");
    body.write(body.body, line.out());
    line.out().put('\n');
}

void fail_line(LineBody body) {
    {
        ConsoleLine line;
        kmem::print(line.out(), "loader: error: ");
        body.write(body.body, line.out());
        line.out().put('\n');
    }
    exit(kExitFailure);
}

void fail(std::string_view message) {
    fail_with([&](Console& out) { kmem::print(out, message); });
}

// The frame entry.S builds: x0..x31 (x0 slot unused), then the CSRs.
struct TrapFrame {
    std::uint64_t x[32];
    std::uint64_t sepc;
    std::uint64_t scause;
    std::uint64_t stval;
    std::uint64_t sstatus;
    std::uint64_t satp;
    std::uint64_t padding;
};
static_assert(offsetof(TrapFrame, sepc) == FRAME_SEPC && offsetof(TrapFrame, satp) == FRAME_SATP &&
              sizeof(TrapFrame) == FRAME_SIZE);

}  // namespace loader

extern "C" [[noreturn]] void loader_trap(const loader::TrapFrame* frame, std::uint64_t stack_top) {
    using namespace loader;
    const std::uint64_t hart_id = *reinterpret_cast<const std::uint64_t*>(stack_top + STACK_HART_ID);
    use_sbi_console();
    {
        ConsoleLine line{ConsoleLine::Forced{}};
        Console& out = line.out();
        kmem::print(out, "loader: error: trap on hart ", hart_id, ": ", riscv::trap_cause_name(frame->scause),
                    " (scause ", kmem::hex(frame->scause), ") sepc ", kmem::hex(frame->sepc), " stval ",
                    kmem::hex(frame->stval), "\nloader: error:   ra ", kmem::hex(frame->x[1]), " sp ",
                    kmem::hex(frame->x[2]), " sstatus ", kmem::hex(frame->sstatus), " satp ", kmem::hex(frame->satp),
                    (frame->sstatus & (1u << 8)) != 0 ? " (from S-mode)\n" : " (from U-mode)\n");
    }
    exit(kExitFailure);
}

// The freestanding runtime (examples/common/freestanding.cpp) ends here when
// it cannot continue.
extern "C" [[noreturn]] void freestanding_fail(const char* message) {
    loader::fail_with([&](loader::Console& out) {
        kmem::print(out, "runtime: ", message);
    });
}
