// Compile-time proof that loader_api.h (C) and boot_info.hpp /
// loader_config.hpp (C++) describe the same bytes: every structure's size
// and alignment, every field's offset, size and signedness, every constant.
// Compiled for the host (inside loader_api_c_header_test) and for riscv64
// (a static library of the target build), with GCC and clang; a mismatch
// is a build error.

#include <cstddef>
#include <type_traits>

#include "loader_api/boot_info.hpp"
#include "loader_api/loader_config.hpp"
#include "loader_api/loader_api.h"

namespace {

namespace cpp = loader_api;

template <class T>
struct Representation {
    using type = T;
};
template <class T>
    requires std::is_enum_v<T>
struct Representation<T> {
    using type = std::underlying_type_t<T>;
};

// Same size and, for integers, the same signedness (an enum counts as its
// underlying type, which is what the C typedef must be).
template <class C, class Cpp>
constexpr bool same_representation() {
    using A = std::remove_all_extents_t<C>;
    using B = typename Representation<std::remove_all_extents_t<Cpp>>::type;
    if (sizeof(C) != sizeof(Cpp)) return false;
    if constexpr (std::is_integral_v<A> || std::is_integral_v<B>) {
        return std::is_integral_v<A> && std::is_integral_v<B> && std::is_signed_v<A> == std::is_signed_v<B>;
    } else {
        return true;
    }
}

template <class C, class Cpp>
constexpr bool same_struct() {
    return sizeof(C) == sizeof(Cpp) && alignof(C) == alignof(Cpp) && std::is_standard_layout_v<C> &&
           std::is_trivially_copyable_v<C>;
}

}  // namespace

#define SAME_FIELD(c_type, cpp_type, field)                                                              \
    static_assert(offsetof(c_type, field) == offsetof(cpp_type, field), #c_type "." #field ": offset"); \
    static_assert(same_representation<decltype(c_type::field), decltype(cpp_type::field)>(),             \
                  #c_type "." #field ": size or signedness")

static_assert(same_struct<loader_api_phys_range, cpp::PhysRange>());
SAME_FIELD(loader_api_phys_range, cpp::PhysRange, begin);
SAME_FIELD(loader_api_phys_range, cpp::PhysRange, end);

static_assert(same_struct<loader_api_virt_range, cpp::VirtRange>());
SAME_FIELD(loader_api_virt_range, cpp::VirtRange, begin);
SAME_FIELD(loader_api_virt_range, cpp::VirtRange, end);

static_assert(same_struct<loader_api_array_ref, cpp::ArrayRef>());
SAME_FIELD(loader_api_array_ref, cpp::ArrayRef, offset);
SAME_FIELD(loader_api_array_ref, cpp::ArrayRef, count);

static_assert(same_struct<loader_api_boot_info_header, cpp::BootInfoHeader>());
SAME_FIELD(loader_api_boot_info_header, cpp::BootInfoHeader, magic);
SAME_FIELD(loader_api_boot_info_header, cpp::BootInfoHeader, version_major);
SAME_FIELD(loader_api_boot_info_header, cpp::BootInfoHeader, version_minor);
SAME_FIELD(loader_api_boot_info_header, cpp::BootInfoHeader, total_size);
SAME_FIELD(loader_api_boot_info_header, cpp::BootInfoHeader, abi_fingerprint);

static_assert(same_struct<loader_api_hart_info, cpp::HartInfo>());
SAME_FIELD(loader_api_hart_info, cpp::HartInfo, hart_id);
SAME_FIELD(loader_api_hart_info, cpp::HartInfo, state);
SAME_FIELD(loader_api_hart_info, cpp::HartInfo, sbi_error);
SAME_FIELD(loader_api_hart_info, cpp::HartInfo, stack);
SAME_FIELD(loader_api_hart_info, cpp::HartInfo, tls);

static_assert(same_struct<loader_api_memory_region, cpp::MemoryRegion>());
SAME_FIELD(loader_api_memory_region, cpp::MemoryRegion, range);
SAME_FIELD(loader_api_memory_region, cpp::MemoryRegion, kind);
SAME_FIELD(loader_api_memory_region, cpp::MemoryRegion, reserved);

static_assert(same_struct<loader_api_kernel_segment, cpp::KernelSegment>());
SAME_FIELD(loader_api_kernel_segment, cpp::KernelSegment, virt);
SAME_FIELD(loader_api_kernel_segment, cpp::KernelSegment, physical_begin);
SAME_FIELD(loader_api_kernel_segment, cpp::KernelSegment, flags);
SAME_FIELD(loader_api_kernel_segment, cpp::KernelSegment, reserved);

static_assert(same_struct<loader_api_tls_template, cpp::TlsTemplate>());
SAME_FIELD(loader_api_tls_template, cpp::TlsTemplate, start);
SAME_FIELD(loader_api_tls_template, cpp::TlsTemplate, file_size);
SAME_FIELD(loader_api_tls_template, cpp::TlsTemplate, memory_size);
SAME_FIELD(loader_api_tls_template, cpp::TlsTemplate, alignment);

static_assert(same_struct<loader_api_timestamps, cpp::Timestamps>());
SAME_FIELD(loader_api_timestamps, cpp::Timestamps, loader_entry_time);
SAME_FIELD(loader_api_timestamps, cpp::Timestamps, loader_entry_instret);
SAME_FIELD(loader_api_timestamps, cpp::Timestamps, handoff_time);
SAME_FIELD(loader_api_timestamps, cpp::Timestamps, handoff_instret);

static_assert(same_struct<loader_api_boot_info, cpp::BootInfo>());
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, header);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, boot_hart_id);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, harts);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, memory_regions);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, kernel_segments);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, command_line);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, paging_mode);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, flags);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, root_table);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, physmap_offset);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, physmap);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, kernel_virtual);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, kaslr_slide);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, kernel_file);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, tls_template);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, device_tree);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, initrd);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, random);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, timebase_frequency);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, timestamps);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, entropy_sources);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, reserved);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, efi_system_table);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, efi_memory_map);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, efi_memory_descriptor_size);
SAME_FIELD(loader_api_boot_info, cpp::BootInfo, efi_memory_descriptor_version);
static_assert(sizeof(loader_api_boot_info::random) == sizeof(cpp::BootInfo::random));

static_assert(same_struct<loader_api_loader_config, cpp::LoaderConfig>());
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, magic);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, version_major);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, version_minor);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, size);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, stack_size);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, min_paging_mode);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, max_paging_mode);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, preferred_paging_mode);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, kaslr);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, start_harts);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, max_harts);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, allow_write_execute);
SAME_FIELD(loader_api_loader_config, cpp::LoaderConfig, log_level);

// --- constants

// The value and the type's width: a C constant must fit the field it goes in.
#define SAME_VALUE(c_constant, cpp_value)                                                   \
    static_assert(static_cast<unsigned long long>(c_constant) ==                            \
                      static_cast<unsigned long long>(cpp_value), #c_constant ": value");    \
    static_assert(sizeof(c_constant) <= 8, #c_constant ": width")

SAME_VALUE(LOADER_API_BOOT_INFO_MAGIC, cpp::kBootInfoMagic);
SAME_VALUE(LOADER_API_BOOT_INFO_VERSION_MAJOR, cpp::kBootInfoVersionMajor);
SAME_VALUE(LOADER_API_BOOT_INFO_VERSION_MINOR, cpp::kBootInfoVersionMinor);
SAME_VALUE(LOADER_API_ABI_FINGERPRINT, cpp::kAbiFingerprint);
SAME_VALUE(LOADER_API_BOOT_INFO_FIXED_SIZE_V1_0, cpp::kBootInfoFixedSizeV1_0);
SAME_VALUE(LOADER_API_BOOT_INFO_FIXED_SIZE_V1_1, cpp::kBootInfoFixedSizeV1_1);
// The header's literal, as docs/protocol.md writes it (not only equal to the
// C++ constant, which could change with it).
static_assert(LOADER_API_ABI_FINGERPRINT == 0x509023801325d573ULL);

SAME_VALUE(LOADER_API_PAGING_SV39, cpp::PagingMode::Sv39);
SAME_VALUE(LOADER_API_PAGING_SV48, cpp::PagingMode::Sv48);
SAME_VALUE(LOADER_API_PAGING_SV57, cpp::PagingMode::Sv57);

SAME_VALUE(LOADER_API_REGION_USABLE, cpp::MemoryRegionKind::Usable);
SAME_VALUE(LOADER_API_REGION_RESERVED, cpp::MemoryRegionKind::Reserved);
SAME_VALUE(LOADER_API_REGION_KERNEL, cpp::MemoryRegionKind::Kernel);
SAME_VALUE(LOADER_API_REGION_KERNEL_STACK, cpp::MemoryRegionKind::KernelStack);
SAME_VALUE(LOADER_API_REGION_TLS, cpp::MemoryRegionKind::Tls);
SAME_VALUE(LOADER_API_REGION_PAGE_TABLES, cpp::MemoryRegionKind::PageTables);
SAME_VALUE(LOADER_API_REGION_BOOT_INFO, cpp::MemoryRegionKind::BootInfo);
SAME_VALUE(LOADER_API_REGION_FDT, cpp::MemoryRegionKind::Fdt);
SAME_VALUE(LOADER_API_REGION_INITRD, cpp::MemoryRegionKind::Initrd);
SAME_VALUE(LOADER_API_REGION_LOADER_RECLAIMABLE, cpp::MemoryRegionKind::LoaderReclaimable);
SAME_VALUE(LOADER_API_REGION_USABLE_UNMAPPED, cpp::MemoryRegionKind::UsableUnmapped);
SAME_VALUE(LOADER_API_REGION_EFI_RUNTIME_CODE, cpp::MemoryRegionKind::EfiRuntimeCode);
SAME_VALUE(LOADER_API_REGION_EFI_RUNTIME_DATA, cpp::MemoryRegionKind::EfiRuntimeData);
SAME_VALUE(LOADER_API_REGION_KIND_LAST, cpp::kMemoryRegionKindLast);

SAME_VALUE(LOADER_API_HART_STARTED, cpp::HartState::Started);
SAME_VALUE(LOADER_API_HART_FAILED, cpp::HartState::Failed);
SAME_VALUE(LOADER_API_HART_NOT_STARTED, cpp::HartState::NotStarted);
SAME_VALUE(LOADER_API_HART_UNUSABLE, cpp::HartState::Unusable);

SAME_VALUE(LOADER_API_SEGMENT_READ, cpp::kSegmentRead);
SAME_VALUE(LOADER_API_SEGMENT_WRITE, cpp::kSegmentWrite);
SAME_VALUE(LOADER_API_SEGMENT_EXECUTE, cpp::kSegmentExecute);
SAME_VALUE(LOADER_API_SEGMENT_COPIED, cpp::kSegmentCopied);

SAME_VALUE(LOADER_API_ENTROPY_DEVICE_TREE, cpp::kEntropyDeviceTree);
SAME_VALUE(LOADER_API_ENTROPY_ZKR, cpp::kEntropyZkr);
SAME_VALUE(LOADER_API_ENTROPY_EFI_RNG, cpp::kEntropyEfiRng);
SAME_VALUE(LOADER_API_ENTROPY_SOURCES_KNOWN, cpp::kEntropySourcesKnown);

SAME_VALUE(LOADER_API_CONFIG_MAGIC, cpp::kLoaderConfigMagic);
SAME_VALUE(LOADER_API_CONFIG_VERSION_MAJOR, cpp::kLoaderConfigVersionMajor);
SAME_VALUE(LOADER_API_CONFIG_VERSION_MINOR, cpp::kLoaderConfigVersionMinor);
SAME_VALUE(LOADER_API_CONFIG_SIZE, sizeof(cpp::LoaderConfig));

SAME_VALUE(LOADER_API_KASLR_DEFAULT, cpp::Kaslr::Default);
SAME_VALUE(LOADER_API_KASLR_ENABLED, cpp::Kaslr::Enabled);
SAME_VALUE(LOADER_API_KASLR_DISABLED, cpp::Kaslr::Disabled);
SAME_VALUE(LOADER_API_HARTS_ALL, cpp::HartSelection::All);
SAME_VALUE(LOADER_API_HARTS_BOOT_HART_ONLY, cpp::HartSelection::BootHartOnly);
SAME_VALUE(LOADER_API_HARTS_UP_TO, cpp::HartSelection::UpTo);
SAME_VALUE(LOADER_API_LOG_DEFAULT, cpp::LogLevel::Default);
SAME_VALUE(LOADER_API_LOG_ERROR, cpp::LogLevel::Error);
SAME_VALUE(LOADER_API_LOG_WARN, cpp::LogLevel::Warn);
SAME_VALUE(LOADER_API_LOG_INFO, cpp::LogLevel::Info);
SAME_VALUE(LOADER_API_LOG_DEBUG, cpp::LogLevel::Debug);

// The defaults LOADER_API_C_CONFIG starts from are LoaderConfig{}'s.
constexpr cpp::LoaderConfig kDefaults{};
SAME_VALUE(LOADER_API_CONFIG_DEFAULT_STACK_SIZE, kDefaults.stack_size);
SAME_VALUE(LOADER_API_PAGING_SV39, kDefaults.min_paging_mode);
SAME_VALUE(LOADER_API_PAGING_SV57, kDefaults.max_paging_mode);
SAME_VALUE(LOADER_API_PAGING_SV48, kDefaults.preferred_paging_mode);
SAME_VALUE(LOADER_API_KASLR_DEFAULT, kDefaults.kaslr);
SAME_VALUE(LOADER_API_HARTS_ALL, kDefaults.start_harts);
SAME_VALUE(0, kDefaults.max_harts);
SAME_VALUE(0, kDefaults.allow_write_execute);
SAME_VALUE(LOADER_API_LOG_DEFAULT, kDefaults.log_level);

// Something for the target library to hold; the proof is the compilation.
extern "C" const unsigned loader_api_c_header_layout_checked = 1;
