// A small riscv64 kernel for the planner tests, linked as a PIE and as a
// higher-half ET_EXEC: TLS with .tdata, .tbss and an over-aligned variable,
// pointers in const data (RELRO, relocated in the PIE), pointers in .data
// and a .bss of several pages. The planner tests only read it; it never runs.

#include <cstdint>

#include "loader_api/loader_config.hpp"

extern "C" {
thread_local std::uint64_t plan_tls_counter = 0x1122334455667788;
thread_local std::uint32_t plan_tls_zeroed;
alignas(64) thread_local std::uint64_t plan_tls_aligned = 0xa5a5a5a5a5a5a5a5;
// External and written below, so it stays a real .bss of several pages.
std::uint8_t plan_big_bss[40 * 1024];
}

namespace {

volatile std::uint64_t sink;

[[gnu::noinline]] std::uint64_t first() { return plan_tls_counter + plan_tls_zeroed; }
[[gnu::noinline]] std::uint64_t second() { return plan_tls_aligned + plan_big_bss[sink & 1023]; }

}  // namespace

using Function = std::uint64_t (*)();
extern "C" {
// Const pointers: .data.rel.ro in a PIE, under PT_GNU_RELRO.
extern const Function plan_function_table[] = {first, second, first};
// Writable pointers: relocated in .data.
const char* plan_names[] = {"first", "second"};
}

[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info) {
    std::uint64_t sum = hart_id + boot_info.header.total_size;
    for (const Function f : plan_function_table) sum += f();
    for (const char* name : plan_names) sum += static_cast<unsigned char>(*name);
    plan_tls_counter = sum;
    plan_big_bss[sum % sizeof plan_big_bss] = static_cast<std::uint8_t>(sum);
    sink = sum;
    for (;;) asm volatile("wfi");
}

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{.stack_size = 16 * 1024});
