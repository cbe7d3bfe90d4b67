// A small freestanding riscv64 program whose only job is to be read by the
// ELF reader tests: it has TLS (.tdata, .tbss, an over-aligned variable),
// data that needs relocation in a PIE and lands in RELRO, and a
// .loader_config section. It is never run.

// No <cstdint>: clang finds no C++ headers for this freestanding target.
namespace u {
using uint8_t = __UINT8_TYPE__;
using uint32_t = __UINT32_TYPE__;
using uint64_t = __UINT64_TYPE__;
}  // namespace u

thread_local u::uint64_t tls_counter = 0x1122334455667788;
thread_local u::uint32_t tls_zeroed;
alignas(64) thread_local u::uint8_t tls_block[64];
alignas(64) thread_local u::uint64_t tls_aligned_data = 0xa5a5a5a5a5a5a5a5;

namespace {
[[gnu::noinline]] u::uint64_t first() { return tls_counter + tls_zeroed; }
[[gnu::noinline]] u::uint64_t second() { return tls_block[7] + tls_aligned_data; }
}  // namespace

using Function = u::uint64_t (*)();
// Pointers in const data: in a PIE these need R_RISCV_RELATIVE (or RELR)
// relocations and go to .data.rel.ro, which PT_GNU_RELRO covers.
extern const Function function_table[] = {first, second, first};
extern const char* const name_table[] = {"first", "second"};

// The test checks these bytes; the real LoaderConfig layout is not used here.
[[gnu::section(".loader_config"), gnu::used]] const unsigned char loader_config_bytes[16] = {
    'L', 'C', 'F', 'G', 1, 0, 0, 0, 16, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};

extern "C" [[noreturn]] void _start() {
    u::uint64_t sum = 0;
    for (const Function f : function_table) sum += f();
    for (const char* name : name_table) sum += static_cast<unsigned char>(*name);
    tls_counter = sum;
    for (;;) asm volatile("wfi");
}
