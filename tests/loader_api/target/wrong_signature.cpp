// Must NOT compile: check_compile_fail.py compiles it once per WRONG_*
// variant and expects the LOADER_API_KERNEL static_assert message; the
// RIGHT variant must compile, so that the failures are the macro's doing.

#include <cstdint>

#include "loader_api/loader_config.hpp"

#if defined(RIGHT)
[[noreturn]] void kernel_main(std::uint64_t, const loader_api::BootInfo&) { for (;;) {} }
#elif defined(WRONG_POINTER)
[[noreturn]] void kernel_main(std::uint64_t, const loader_api::BootInfo*) { for (;;) {} }
#elif defined(WRONG_HART_TYPE)
[[noreturn]] void kernel_main(std::uint32_t, const loader_api::BootInfo&) { for (;;) {} }
#elif defined(WRONG_RETURN)
int kernel_main(std::uint64_t, const loader_api::BootInfo&) { return 0; }
#elif defined(WRONG_ARITY)
[[noreturn]] void kernel_main(std::uint64_t) { for (;;) {} }
#elif defined(WRONG_MUTABLE)
[[noreturn]] void kernel_main(std::uint64_t, loader_api::BootInfo&) { for (;;) {} }
#endif

LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{});
