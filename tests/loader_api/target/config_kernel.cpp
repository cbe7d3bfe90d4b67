// A minimal riscv64 kernel: declares a non-default LoaderConfig through
// LOADER_API_KERNEL and reads BootInfo and a thread_local. check_elf.py
// finds the config in the linked ELF (built with and without -flto
// -Wl,--gc-sections) and checks the TLS access pattern.

#include <cstdint>

#include "loader_api/loader_config.hpp"

// Two TLS variables with different alignments, so that the offset of the
// second one inside the TLS block is not 0. External linkage and writes
// keep the compiler from folding them into constants.
extern "C" {
thread_local std::uint64_t tls_first = 0x1111;
alignas(32) thread_local std::uint32_t tls_second = 0x2222;
}

namespace {

// Volatile sink so that the reads below are not optimised away.
volatile std::uint64_t observed;

[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info) {
    tls_first += boot_info.header.total_size;
    observed = hart_id + tls_first;
    tls_second += static_cast<std::uint32_t>(hart_id);
    observed = tls_second;
    for (;;) asm volatile("wfi");
}

}  // namespace

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{
                                   .stack_size = 256 * 1024,
                                   .min_paging_mode = loader_api::PagingMode::Sv48,
                                   .max_paging_mode = loader_api::PagingMode::Sv57,
                                   .preferred_paging_mode = loader_api::PagingMode::Sv57,
                                   .kaslr = loader_api::Kaslr::Disabled,
                                   .start_harts = loader_api::HartSelection::UpTo,
                                   .max_harts = 3,
                                   .allow_write_execute = 0,
                                   .log_level = loader_api::LogLevel::Debug,
                               });
