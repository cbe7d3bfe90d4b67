#include "selftest.hpp"

#include "console.hpp"
#include "paging.hpp"

extern "C" void selftest_kernel_entry();

// The entry: gathers what the handoff contract promises before any C++ code
// can disturb it (the OR of every register that must be zero: all but t0 =
// satp, t1 = entry, sp, tp, a0, a1; satp, sstatus), points stvec back at the
// loader's trap vector, then continues in selftest_kernel_main.
asm(R"(
    .text
    .balign 4
    .globl selftest_kernel_entry
selftest_kernel_entry:
    or t2, t2, ra
    or t2, t2, gp
    or t2, t2, s0
    or t2, t2, s1
    or t2, t2, a2
    or t2, t2, a3
    or t2, t2, a4
    or t2, t2, a5
    or t2, t2, a6
    or t2, t2, a7
    or t2, t2, s2
    or t2, t2, s3
    or t2, t2, s4
    or t2, t2, s5
    or t2, t2, s6
    or t2, t2, s7
    or t2, t2, s8
    or t2, t2, s9
    or t2, t2, s10
    or t2, t2, s11
    or t2, t2, t3
    or t2, t2, t4
    or t2, t2, t5
    or t2, t2, t6
    mv a2, sp
    mv a3, tp
    mv a4, t2
    la t0, loader_trap_entry
    csrw stvec, t0
    csrr a5, satp
    csrr a6, sstatus
    tail selftest_kernel_main
)");

namespace loader::selftest {
namespace {

struct Info {
    std::uint64_t boot_hart_id = 0;
    std::uint64_t satp = 0;
    std::uint64_t expected_harts = 0;
    std::uint64_t timebase_frequency = 0;
    const HartSlot* slots = nullptr;
    std::size_t slot_count = 0;
};

Info info;
std::uint64_t arrived = 0;
// tp of hart slot i points at tls_words[i], which holds the hart id.
LOADER_NOCLEAR std::uint64_t tls_words[kMaxHarts];

constexpr std::uint64_t kSstatusSie = 1u << 1;
constexpr std::uint64_t kSstatusSum = 1u << 18;

template <class Body>
void check(bool ok, std::uint64_t hart_id, Body&& describe) {
    if (ok) return;
    fail_with([&](Console& out) {
        kmem::write(out, "selftest: hart ");
        kmem::write_dec(out, hart_id);
        kmem::write(out, ": ");
        describe(out);
    });
}

void check_value(std::uint64_t hart_id, const char* what, std::uint64_t got, std::uint64_t expected) {
    check(got == expected, hart_id, [&](Console& out) {
        kmem::write(out, what);
        kmem::write(out, " is ");
        kmem::write_hex(out, got);
        kmem::write(out, ", expected ");
        kmem::write_hex(out, expected);
    });
}

}  // namespace

void prepare(HartSlot* slots, std::size_t count, std::uint64_t boot_hart_id, kmem::PagingModeId mode,
             std::uint64_t timebase_frequency) {
    info.boot_hart_id = boot_hart_id;
    info.satp = identity_satp(mode);
    info.timebase_frequency = timebase_frequency;
    info.slots = slots;
    info.slot_count = count;
    info.expected_harts = 0;
    for (std::size_t i = 0; i < count; ++i) {
        HartSlot& slot = slots[i];
        if (!slot.started) continue;
        ++info.expected_harts;
        tls_words[i] = slot.hart_id;
        slot.record.satp = info.satp;
        // The loader stack is free once the hart leaves the loader (nothing
        // returns there), and the trap vector resets to its top anyway.
        slot.record.sp = slot.stack_top - STACK_RESERVED;
        slot.record.tp = reinterpret_cast<std::uint64_t>(&tls_words[i]);
        slot.record.entry = reinterpret_cast<std::uint64_t>(&selftest_kernel_entry);
        slot.record.a0 = slot.hart_id;
        slot.record.a1 = reinterpret_cast<std::uint64_t>(&info);
    }
}

}  // namespace loader::selftest

extern "C" [[noreturn]] void selftest_kernel_main(std::uint64_t hart_id, const loader::selftest::Info* given,
                                                  std::uint64_t sp, std::uint64_t tp, std::uint64_t nonzero,
                                                  std::uint64_t satp, std::uint64_t sstatus) {
    using namespace loader;
    using namespace loader::selftest;
    check_value(hart_id, "a1 (info)", reinterpret_cast<std::uint64_t>(given), reinterpret_cast<std::uint64_t>(&info));
    std::size_t index = 0;
    while (index < info.slot_count && !(info.slots[index].started && info.slots[index].hart_id == hart_id)) ++index;
    check(index < info.slot_count, hart_id, [&](Console& out) { kmem::write(out, "a0 is not a started hart"); });
    const HartSlot& slot = info.slots[index];
    check_value(hart_id, "sp", sp, slot.record.sp);
    check_value(hart_id, "tp", tp, slot.record.tp);
    check_value(hart_id, "the word at tp", *reinterpret_cast<const std::uint64_t*>(tp), hart_id);
    check_value(hart_id, "the OR of the registers that must be zero", nonzero, 0);
    check_value(hart_id, "satp", satp, info.satp);
    check_value(hart_id, "sstatus.SIE|SUM", sstatus & (kSstatusSie | kSstatusSum), 0);

    // The kernel's own output: not subject to the loader's log level.
    {
        ConsoleLine line;
        kmem::write(line.out(), "selftest: hello from hart ");
        kmem::write_dec(line.out(), hart_id);
        line.out().put('\n');
    }
    __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
    if (hart_id != info.boot_hart_id) loader_park();

    // A started hart that never arrives is a failure, not a hang.
    const std::uint64_t start = read_timestamp().time;
    const std::uint64_t limit = (info.timebase_frequency != 0 ? info.timebase_frequency : 10'000'000) * 10;
    std::uint64_t seen = 0;
    while ((seen = __atomic_load_n(&arrived, __ATOMIC_ACQUIRE)) < info.expected_harts) {
        if (read_timestamp().time - start > limit) {
            fail_with([&](Console& out) {
                kmem::write(out, "selftest: only ");
                kmem::write_dec(out, seen);
                kmem::write(out, " of ");
                kmem::write_dec(out, info.expected_harts);
                kmem::write(out, " started harts arrived within 10 s");
            });
        }
    }
    {
        ConsoleLine line;
        kmem::write(line.out(), "selftest: all ");
        kmem::write_dec(line.out(), seen);
        kmem::write(line.out(), " started harts arrived\n");
    }
    exit(0);
}
