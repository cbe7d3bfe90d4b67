#pragma once
// How every hart enters the kernel.
//
// The boot hart fills one HandoffRecord per hart (its own included) and then
// publishes it by storing state = kGo with release ordering; each hart spins
// on its own record's state (entry.S, loader_handoff), and after an acquire
// fence does, in this order:
//   sstatus.SIE = 0, sie = 0, SPIE = SUM = MXR = 0, FS = Initial, VS = Off,
//   stvec = record.entry, sp/tp/a0/a1 from the record, every other integer
//   register 0 except t0 (the satp value) and t1 (the entry), fence.i,
//   sfence.vma, satp = record.satp.
// The kernel's tables map only the higher half, so fetching the instruction
// after the satp write faults, and the trap enters the kernel at stvec: in
// S-mode, interrupts off (SPIE = SIE = 0), with its own page tables live and
// no identity map of the loader left behind (the technique Linux uses to
// turn its MMU on). A table that does map the loader at its physical
// address (the self-test) falls through to `jr t1` instead. sfence.vma comes
// before the satp write because the fetch after it already traps; satp was
// Bare since the probe's own sfence.vma, so no stale translation exists.

#include <cstddef>
#include <cstdint>

#include "handoff_layout.h"

namespace loader {

struct HandoffRecord {
    std::uint64_t satp = 0;   // MODE | ASID | root PPN, written as is
    std::uint64_t sp = 0;     // top of this hart's kernel stack (16-byte aligned)
    std::uint64_t tp = 0;     // this hart's TLS pointer
    std::uint64_t entry = 0;  // kernel entry, virtual
    std::uint64_t a0 = 0;     // hart id
    std::uint64_t a1 = 0;     // BootInfo, virtual
    std::uint32_t state = 0;  // HandoffState; written last, with release ordering
    std::uint32_t reserved = 0;
};

enum class HandoffState : std::uint32_t {
    kWait = HANDOFF_STATE_WAIT,
    kGo = HANDOFF_STATE_GO,
    kPark = HANDOFF_STATE_PARK,  // stop with interrupts off: the boot failed
};

// start_error of a hart that hart_start accepted but that never ran loader
// code (not an SBI error code: those are small negative numbers).
inline constexpr std::int32_t kNotArrived = -1000;

// What a started hart gets in a1 from hart_start. The record comes first so
// that its address is the slot's.
struct alignas(64) HartSlot {
    HandoffRecord record;
    std::uint64_t stack_top = 0;  // this hart's loader stack: the physical top of its kernel stack
    std::uint64_t hart_id = 0;
    std::uint32_t arrived = 0;    // set by the hart once it runs loader code
    std::int32_t start_error = 0; // SBI error of hart_start, kNotArrived, or 0 when started
    bool started = false;         // hart_start succeeded (or this is the boot hart)
};

static_assert(offsetof(HandoffRecord, satp) == HANDOFF_SATP);
static_assert(offsetof(HandoffRecord, sp) == HANDOFF_SP);
static_assert(offsetof(HandoffRecord, tp) == HANDOFF_TP);
static_assert(offsetof(HandoffRecord, entry) == HANDOFF_ENTRY);
static_assert(offsetof(HandoffRecord, a0) == HANDOFF_A0);
static_assert(offsetof(HandoffRecord, a1) == HANDOFF_A1);
static_assert(offsetof(HandoffRecord, state) == HANDOFF_STATE);
static_assert(sizeof(HandoffRecord) == HANDOFF_SIZE);
static_assert(offsetof(HartSlot, record) == SLOT_RECORD);
static_assert(offsetof(HartSlot, stack_top) == SLOT_STACK_TOP);
static_assert(sizeof(HartSlot) == SLOT_SIZE);

// For large objects the loader initialises itself before use: the linker
// script keeps them out of the range entry.S clears (zeroing 100 KiB that is
// written again right after costs about 100,000 instructions).
#define LOADER_NOCLEAR [[gnu::section(".bss.noclear")]]

// The slot's state as the spinning hart sees it.
inline void publish(HandoffRecord& record, HandoffState state) {
    __atomic_store_n(&record.state, static_cast<std::uint32_t>(state), __ATOMIC_RELEASE);
}

}  // namespace loader

extern "C" {
// entry.S
[[noreturn]] void loader_handoff(const loader::HandoffRecord* record);
[[noreturn]] void loader_park();
void loader_secondary_entry();
void loader_trap_entry();
extern char loader_boot_stack_top[];
// linker.ld
extern char __loader_start[];
extern char __loader_end[];
extern char __bss_start[];
extern char __bss_end[];
}
