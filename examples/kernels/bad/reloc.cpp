// A kernel with relocations the loader does not support: linked -shared
// (a plausible mistake) instead of as a static PIE, so every call to a
// default-visibility function goes through the PLT and needs
// R_RISCV_JUMP_SLOT, and data through the GOT needs symbolic R_RISCV_64.
// The loader must refuse it, naming the relocation.
//
// Built without the kernel runtime (that is compiled for static links): if a
// loader accepts it anyway, it prints through SBI directly and powers off
// with "system failure" before the first PLT call, which would jump nowhere.

#include <cstdint>
#include <string_view>

#include "common/sbi.hpp"
#include "loader_api/loader_config.hpp"

// Default visibility and not inlined: the call below needs the PLT.
extern "C" [[gnu::noinline]] void bad_kernel_reloc_target(std::uint64_t hart_id) {
    asm volatile("" ::"r"(hart_id));
}

[[noreturn]] void bad_kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& info) {
    if (hart_id == info.boot_hart_id) {
        constexpr std::string_view message = "FAIL: the loader accepted a kernel with R_RISCV_JUMP_SLOT relocations\r\n";
        for (char c : message) examples::sbi::console_putchar(c);
        (void)examples::sbi::system_reset(examples::sbi::ResetType::kShutdown, examples::sbi::ResetReason::kSystemFailure);
    }
    bad_kernel_reloc_target(hart_id);
    for (;;) asm volatile("wfi");
}

LOADER_API_KERNEL(bad_kernel_main, loader_api::LoaderConfig{});
