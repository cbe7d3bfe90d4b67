// Kernels the loader must refuse, one defect each, for the negative boot
// tests. Each is otherwise a working kernel: if a loader accepts it anyway,
// it says so and stops the machine with exit status 8 instead of hanging.
//
//   BAD_KERNEL_NO_CONFIG   no .loader_config section (its own _start below)
//   BAD_KERNEL_WX          one segment both writable and executable (meson
//                          marks the data segment so, see make_wx.py)
//   BAD_KERNEL_HUGE_STACK  a config asking for 20 GiB of stack per hart: more
//                          than the RAM of any machine the boot tests run
//                          (16 GiB at most), yet 8 harts' worth still fits
//                          the Sv39 upper half (256 GiB), so the loader must
//                          fail on memory, not on address space
//   BAD_KERNEL_HUGE_IMAGE  a 64 MiB .bss: a kernel image larger than the RAM
//                          of the machine its boot test gives it (32 MiB)
// (The kernel with an unsupported relocation is reloc.cpp.)

#include <cstdint>

#include "kernels/common/console.hpp"
#include "kernels/common/platform.hpp"
#include "loader_api/loader_config.hpp"

#if defined(BAD_KERNEL_NO_CONFIG)
#define BAD_KERNEL_DEFECT "no .loader_config section"
#elif defined(BAD_KERNEL_WX)
#define BAD_KERNEL_DEFECT "a writable and executable segment"
#elif defined(BAD_KERNEL_HUGE_STACK)
#define BAD_KERNEL_DEFECT "stacks larger than RAM"
#elif defined(BAD_KERNEL_HUGE_IMAGE)
#define BAD_KERNEL_DEFECT "an image larger than RAM"
#else
#error "define one BAD_KERNEL_* defect"
#endif


#if defined(BAD_KERNEL_HUGE_IMAGE)
// Written below, so that neither the compiler nor --gc-sections drops it.
unsigned char bad_kernel_huge_bss[64u << 20];
#endif

[[noreturn]] void bad_kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& info) {
    kernel::init_hart(info);
#if defined(BAD_KERNEL_HUGE_IMAGE)
    __atomic_store_n(&bad_kernel_huge_bss[sizeof(bad_kernel_huge_bss) - 1], 1, __ATOMIC_RELAXED);
#endif
    if (hart_id != info.boot_hart_id) kernel::park();
    kernel::fail(8, "FAIL: the loader accepted a kernel with " BAD_KERNEL_DEFECT);
}

#if defined(BAD_KERNEL_NO_CONFIG)
// What LOADER_API_KERNEL would define, minus the config.
extern "C" [[noreturn, gnu::used]] void bad_kernel_enter(std::uint64_t hart_id, const loader_api::BootInfo* info) {
    bad_kernel_main(hart_id, *info);
}
asm(".pushsection .text.loader_api_start, \"ax\", @progbits\n"
    ".globl _start\n"
    "_start:\n"
    "tail bad_kernel_enter\n"
    ".popsection\n");
#elif defined(BAD_KERNEL_HUGE_STACK)
LOADER_API_KERNEL(bad_kernel_main, loader_api::LoaderConfig{.stack_size = std::uint64_t{20} << 30});
#else
LOADER_API_KERNEL(bad_kernel_main, loader_api::LoaderConfig{});
#endif
