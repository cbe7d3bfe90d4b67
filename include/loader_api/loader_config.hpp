#pragma once
// What a kernel asks of the loader, read by the loader from the kernel ELF's
// `.loader_config` section, and LOADER_API_KERNEL, which declares the entry
// point and places the config. Same ABI rules as boot_info.hpp: fixed-width
// fields, explicit padding, little-endian.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "loader_api/boot_info.hpp"

namespace loader_api {

// "LDRCONFG" read as a little-endian 64-bit integer.
inline constexpr std::uint64_t kLoaderConfigMagic = 0x47464e4f4352444c;
inline constexpr std::uint16_t kLoaderConfigVersionMajor = 1;
inline constexpr std::uint16_t kLoaderConfigVersionMinor = 0;

enum class Kaslr : std::uint32_t {
    Default = 0,  // the loader's build default (meson option kaslr_default)
    Enabled = 1,
    Disabled = 2,
};
constexpr std::string_view to_string(Kaslr kaslr) {
    switch (kaslr) {
        case Kaslr::Default: return "Default";
        case Kaslr::Enabled: return "Enabled";
        case Kaslr::Disabled: return "Disabled";
    }
    return "?";
}

enum class HartSelection : std::uint32_t {
    All = 0,           // every hart the device tree lists as usable
    BootHartOnly = 1,  // only the hart the loader runs on
    UpTo = 2,          // the boot hart plus others in hart-id order, max_harts in all
};
constexpr std::string_view to_string(HartSelection selection) {
    switch (selection) {
        case HartSelection::All: return "All";
        case HartSelection::BootHartOnly: return "BootHartOnly";
        case HartSelection::UpTo: return "UpTo";
    }
    return "?";
}

enum class LogLevel : std::uint32_t {
    Default = 0,  // the loader's build setting
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
};
constexpr std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::Default: return "Default";
        case LogLevel::Error: return "Error";
        case LogLevel::Warn: return "Warn";
        case LogLevel::Info: return "Info";
        case LogLevel::Debug: return "Debug";
    }
    return "?";
}

// `LoaderConfig{}` is a working configuration; designated initialisers
// change single fields: LoaderConfig{.stack_size = 256 * 1024}. A loader
// reads 0 in any field after `size` as that field's default below, so a
// kernel in another language that sets only the header gets the same.
struct LoaderConfig {
    std::uint64_t magic = kLoaderConfigMagic;
    std::uint16_t version_major = kLoaderConfigVersionMajor;
    std::uint16_t version_minor = kLoaderConfigVersionMinor;
    std::uint32_t size = 56;                  // sizeof(LoaderConfig), asserted below
    std::uint64_t stack_size = 64 * 1024;     // per hart, multiple of 4 KiB, guard page not included
    // The loader uses the highest mode the machine supports in
    // [min_paging_mode, preferred_paging_mode]; when none is supported, the
    // lowest supported one in (preferred_paging_mode, max_paging_mode].
    PagingMode min_paging_mode = PagingMode::Sv39;
    PagingMode max_paging_mode = PagingMode::Sv57;
    PagingMode preferred_paging_mode = PagingMode::Sv48;
    Kaslr kaslr = Kaslr::Default;
    HartSelection start_harts = HartSelection::All;
    std::uint32_t max_harts = 0;              // for HartSelection::UpTo, counting the boot hart
    std::uint32_t allow_write_execute = 0;    // 1: a segment may be mapped W and X (else the loader refuses it)
    LogLevel log_level = LogLevel::Default;   // the loader lowers its own log to this
};

static_assert(kAbiType<LoaderConfig> && sizeof(LoaderConfig) == 56 && alignof(LoaderConfig) == 8);
static_assert(LoaderConfig{}.size == sizeof(LoaderConfig));
static_assert(offsetof(LoaderConfig, magic) == 0);
static_assert(offsetof(LoaderConfig, version_major) == 8);
static_assert(offsetof(LoaderConfig, version_minor) == 10);
static_assert(offsetof(LoaderConfig, size) == 12);
static_assert(offsetof(LoaderConfig, stack_size) == 16);
static_assert(offsetof(LoaderConfig, min_paging_mode) == 24);
static_assert(offsetof(LoaderConfig, max_paging_mode) == 28);
static_assert(offsetof(LoaderConfig, preferred_paging_mode) == 32);
static_assert(offsetof(LoaderConfig, kaslr) == 36);
static_assert(offsetof(LoaderConfig, start_harts) == 40);
static_assert(offsetof(LoaderConfig, max_harts) == 44);
static_assert(offsetof(LoaderConfig, allow_write_execute) == 48);
static_assert(offsetof(LoaderConfig, log_level) == 52);

// The signature LOADER_API_KERNEL accepts: the hart id in a0 and the
// BootInfo (virtual address) in a1. The kernel entry must not return.
using KernelEntry = void(std::uint64_t hart_id, const BootInfo& boot_info);
using KernelEntryNoexcept = void(std::uint64_t hart_id, const BootInfo& boot_info) noexcept;

template <class F>
inline constexpr bool kIsKernelEntry = std::is_same_v<F, KernelEntry> || std::is_same_v<F, KernelEntryNoexcept>;

}  // namespace loader_api

// The ELF entry the loader jumps to. With GNU ld, data near
// __global_pointer$ may be reached relative to gp (linker relaxation), so
// the stub loads gp before any compiled code runs; a script without the
// symbol resolves the weak reference to 0. lld does not relax to gp unless
// asked (--relax-gp), and its own definition need not be in auipc range of
// a higher-half kernel, so clang builds leave gp as the loader passed it (0).
#if defined(__clang__)
#define LOADER_API_DETAIL_LOAD_GP ""
#else
#define LOADER_API_DETAIL_LOAD_GP \
    ".option push\n.option norelax\n.weak __global_pointer$\n.hidden __global_pointer$\nlla gp, __global_pointer$\n.option pop\n"
#endif

// LOADER_API_CONFIG(loader_api::LoaderConfig{...}) at namespace scope, once
// per kernel, places the config in `.loader_config`; used + retain keep the
// section under --gc-sections and -flto (retain sets SHF_GNU_RETAIN, used
// keeps the object out of LTO's dead-code removal). For kernels that bring
// their own `_start`; all others use LOADER_API_KERNEL, which includes it.
#define LOADER_API_CONFIG(...)                                                                        \
    [[gnu::used, gnu::retain, gnu::section(".loader_config")]] constinit const ::loader_api::LoaderConfig \
        loader_api_kernel_config = __VA_ARGS__

// LOADER_API_KERNEL(kernel_main, loader_api::LoaderConfig{...}) at namespace
// scope, once per kernel, next to
//     [[noreturn]] void kernel_main(std::uint64_t hart_id, const loader_api::BootInfo& boot_info);
// defines `_start` (the ELF entry: every hart enters there with the registers
// docs/protocol.md specifies) and places the config (LOADER_API_CONFIG).
#define LOADER_API_KERNEL(entry, ...)                                                                     \
    static_assert(::loader_api::kIsKernelEntry<decltype(entry)>,                                          \
                  "LOADER_API_KERNEL: the kernel entry must be declared as "                              \
                  "[[noreturn]] void " #entry "(std::uint64_t hart_id, const loader_api::BootInfo& boot_info)"); \
    LOADER_API_CONFIG(__VA_ARGS__);                                                                       \
    extern "C" [[noreturn, gnu::used]] void loader_api_kernel_enter(std::uint64_t hart_id,                \
                                                                    const ::loader_api::BootInfo* info) { \
        entry(hart_id, *info);                                                                            \
        __builtin_trap();                                                                                 \
    }                                                                                                     \
    asm(".pushsection .text.loader_api_start, \"ax\", @progbits\n"                                       \
        ".globl _start\n"                                                                                 \
        ".type _start, @function\n"                                                                       \
        "_start:\n" LOADER_API_DETAIL_LOAD_GP                                                             \
        "tail loader_api_kernel_enter\n"                                                                  \
        ".size _start, . - _start\n"                                                                      \
        ".popsection\n")
