// The consumer's kernel: the entry macro, a look at BootInfo with the
// validator, and the reflected log line, all freestanding riscv64.

#include <cstdint>

#include "loader_api/loader_config.hpp"
#include "loader_api/reflect.hpp"
#include "loader_api/validate.hpp"

namespace {

struct NullSink {
    void put(char) {}
};

[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info) {
    NullSink sink;
    if (auto valid = loader_api::validate(boot_info, boot_info.header.total_size); !valid) valid.error().format(sink);
    if (const auto* hart = boot_info.find_hart(hart_id)) loader_api::reflect::format_fields(sink, *hart);
    for (;;) asm volatile("wfi");
}

}  // namespace

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{.stack_size = 128 * 1024});
