// The example kernel: the smallest useful kernel for this loader, meant to be
// copied. It shows the three things every kernel does with the protocol:
// declare itself (LOADER_API_KERNEL), read what it was given (BootInfo), and
// run on every hart the loader started.
//
// What it prints: the whole BootInfo, the boot time, one hello per hart, and
// `done: N harts`; then it powers the machine off.

#include <cstdint>

#include "kernels/common/console.hpp"
#include "kernels/common/platform.hpp"
#include "loader_api/loader_config.hpp"
#include "loader_api/reflect.hpp"

namespace {

// Harts that have said hello. A 32-bit word: GCC 12 has no inline sub-word
// atomics for RISC-V.
std::uint32_t hellos = 0;

// Harts the loader says it started; only they will ever arrive. (A hart that
// failed to start, or that the config left stopped, is in the table too.)
std::uint32_t started_harts(const loader_api::BootInfo& info) {
    std::uint32_t count = 0;
    for (const loader_api::HartInfo& hart : info.hart_table())
        if (hart.state == loader_api::HartState::Started) ++count;
    return count;
}

void print_boot_time(const loader_api::BootInfo& info) {
    const loader_api::Timestamps& t = info.timestamps;
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "boot time: loader entry to handoff ",
                    kernel::ticks_to_us(t.handoff_time - t.loader_entry_time, info.timebase_frequency), " us, ",
                    t.handoff_instret - t.loader_entry_instret);
        // QEMU counts instructions in instret only under -icount; without it
        // the CSR follows the host clock.
        kmem::print(out, " instret (instructions under qemu -icount)");
    });
}

}  // namespace

// Every started hart runs this at the same time, each on its own stack and
// with its own TLS; the boot hart is not guaranteed to be first.
[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& info) {
    // Before anything can trap: the protocol leaves stvec undefined.
    kernel::init_hart(info);
    const bool boot_hart = hart_id == info.boot_hart_id;

    if (boot_hart) {
        // One lock for the whole dump keeps it in one piece while the other
        // harts say hello.
        kernel::ConsoleLine out;
        loader_api::reflect::format_boot_info(out, info);
    }
    if (boot_hart) print_boot_time(info);

    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "hello from hart ", hart_id);
    });
    // Release: whoever sees the count also sees everything this hart did.
    __atomic_fetch_add(&hellos, 1u, __ATOMIC_RELEASE);

    if (!boot_hart) kernel::park();

    // The boot hart waits for the others, but not forever: a hart that never
    // arrives is reported instead of hanging the machine.
    const std::uint32_t expected = started_harts(info);
    const std::uint64_t deadline = kernel::read_time() + 10 * info.timebase_frequency;
    while (__atomic_load_n(&hellos, __ATOMIC_ACQUIRE) < expected && kernel::read_time() < deadline) {
    }
    const std::uint32_t arrived = __atomic_load_n(&hellos, __ATOMIC_ACQUIRE);
    if (arrived < expected) {
        kernel::println([&](kernel::ConsoleLine& out) {
            kmem::print(out, "FAIL: harts: ", arrived, " of ", expected, " started harts said hello within 10 s");
        });
        kernel::shutdown(1);
    }
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "done: ", arrived, " harts");
    });
    kernel::shutdown(0);
}

// The entry point (`_start`, where every hart enters) and the config the
// loader reads from the ELF file. LoaderConfig{} would do; the fields are the
// ones a kernel most often changes.
LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{
                                   .stack_size = 64 * 1024,  // per hart
                                   .preferred_paging_mode = loader_api::PagingMode::Sv48,
                               });
