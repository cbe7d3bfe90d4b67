// An installed-package consumer for riscv64, freestanding: the entry macro,
// its LoaderConfig, BootInfo read and validated, and the address-space
// audit a kernel runs on its own tables (included: it is a template). run.py
// builds it against the headers of a `meson install --destdir` tree with
// pkg-config's flags only, by a cross compiler that cannot see /usr/include:
// no Boost is needed. With CONSUMER_REFLECT it also formats a hart through
// reflect.hpp, which needs loader_api_reflect's flags and Boost.Hana.

#include <cstdint>

#include "loader_api/audit.hpp"
#include "loader_api/loader_config.hpp"
#include "loader_api/validate.hpp"
#ifdef CONSUMER_REFLECT
#include "loader_api/reflect.hpp"
#endif

namespace {

struct CountingSink {
    std::uint64_t count = 0;
    void put(char) { ++count; }
};

[[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info) {
    CountingSink sink;
    if (auto valid = loader_api::validate(boot_info, boot_info.header.total_size); !valid) valid.error().format(sink);
    const auto* hart = boot_info.find_hart(hart_id);
#ifdef CONSUMER_REFLECT
    if (hart != nullptr) loader_api::reflect::format_fields(sink, *hart);
#endif
    asm volatile("" : : "r"(sink.count), "r"(hart));
    for (;;) asm volatile("wfi");
}

}  // namespace

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{.stack_size = 32 * 1024});
