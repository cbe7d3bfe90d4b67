// The same consumer with reflect.hpp: pkg-config's loader_api_reflect flags
// plus Boost.Hana, which the cross compiler finds only after its own
// sysroot (-idirafter /usr/include).

#include <cstdint>

#include "loader_api/loader_config.hpp"
#include "loader_api/reflect.hpp"

namespace {

struct CountingSink {
    std::uint64_t count = 0;
    void put(char) { ++count; }
};

[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info) {
    CountingSink sink;
    if (const auto* hart = boot_info.find_hart(hart_id)) loader_api::reflect::format_fields(sink, *hart);
    asm volatile("" : : "r"(sink.count));
    for (;;) asm volatile("wfi");
}

}  // namespace

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{});
