/* loader_api.h: the C view of the boot protocol, version 1.1.
 *
 * docs/protocol.md is the specification; this header says the same thing in
 * C11 for kernels written in C (and for bindgen, which makes Rust from it).
 * It is also valid C++, and tests/loader_api/c_header_layout.cpp proves at
 * compile time, with both compilers, for riscv64 and the host, that every
 * size, offset and constant here equals the C++ definitions in
 * boot_info.hpp and loader_config.hpp.
 *
 * Why it looks the way it does:
 * - C enums are int-sized, and the protocol's fields are fixed-width; so the
 *   fields are fixed-width integers (with typedefs naming what they hold) and
 *   the values are plain constants. Everything is prefixed LOADER_API_ /
 *   loader_api_ because C has a single namespace.
 * - No bitfields, no anonymous unions, no pointers in the structures: the
 *   block is read in place through the physmap, by any language.
 * - Only <stdint.h> and <stddef.h>: a C kernel pays almost nothing to include
 *   it (docs/protocol.md, section 8).
 *
 * The 1.1 fields at the end of loader_api_boot_info exist only when
 * header.version_minor >= 1: test loader_api_has_v1_1() before reading them.
 */
#ifndef LOADER_API_LOADER_API_H
#define LOADER_API_LOADER_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ BootInfo */

/* "BOOTINFO" read as a little-endian 64-bit integer. */
#define LOADER_API_BOOT_INFO_MAGIC 0x4f464e49544f4f42ULL
#define LOADER_API_BOOT_INFO_VERSION_MAJOR 1u
#define LOADER_API_BOOT_INFO_VERSION_MINOR 1u
/* Over the 1.0 layout only, so it is the same for every 1.x
 * (docs/protocol.md, section 5). */
#define LOADER_API_ABI_FINGERPRINT 0x509023801325d573ULL
/* Bytes of the fixed part in each minor version; arrays start after the
 * fixed part of the block's own minor version. */
#define LOADER_API_BOOT_INFO_FIXED_SIZE_V1_0 280u
#define LOADER_API_BOOT_INFO_FIXED_SIZE_V1_1 312u

/* loader_api_paging_mode: the satp.MODE numbers, writable to satp as they are. */
typedef uint32_t loader_api_paging_mode;
#define LOADER_API_PAGING_SV39 8u
#define LOADER_API_PAGING_SV48 9u
#define LOADER_API_PAGING_SV57 10u

/* loader_api_memory_region_kind. A kind this header does not know (from a
 * newer minor version) must be treated as Reserved. */
typedef uint32_t loader_api_memory_region_kind;
#define LOADER_API_REGION_USABLE 1u
#define LOADER_API_REGION_RESERVED 2u
#define LOADER_API_REGION_KERNEL 3u
#define LOADER_API_REGION_KERNEL_STACK 4u
#define LOADER_API_REGION_TLS 5u
#define LOADER_API_REGION_PAGE_TABLES 6u
#define LOADER_API_REGION_BOOT_INFO 7u
#define LOADER_API_REGION_FDT 8u
#define LOADER_API_REGION_INITRD 9u
#define LOADER_API_REGION_LOADER_RECLAIMABLE 10u
/* 1.1: free RAM the physmap does not reach. */
#define LOADER_API_REGION_USABLE_UNMAPPED 11u
/* 1.1: UEFI runtime services; map them to call the services, never free them. */
#define LOADER_API_REGION_EFI_RUNTIME_CODE 12u
#define LOADER_API_REGION_EFI_RUNTIME_DATA 13u
#define LOADER_API_REGION_KIND_LAST 13u

/* loader_api_hart_state. An unknown state means "not started". */
typedef uint32_t loader_api_hart_state;
#define LOADER_API_HART_STARTED 1u
#define LOADER_API_HART_FAILED 2u
#define LOADER_API_HART_NOT_STARTED 3u
/* 1.1: listed by the device tree but unable to run this kernel. */
#define LOADER_API_HART_UNUSABLE 4u

/* Bits of loader_api_kernel_segment.flags. Without COPIED the frames are the
 * ELF file's own bytes, mapped in place. */
#define LOADER_API_SEGMENT_READ 1u
#define LOADER_API_SEGMENT_WRITE 2u
#define LOADER_API_SEGMENT_EXECUTE 4u
#define LOADER_API_SEGMENT_COPIED 8u

/* 1.1, bits of loader_api_boot_info.entropy_sources. None set: the entropy
 * is only timer values, which can be guessed. */
#define LOADER_API_ENTROPY_DEVICE_TREE 1u
#define LOADER_API_ENTROPY_ZKR 2u
#define LOADER_API_ENTROPY_EFI_RNG 4u
#define LOADER_API_ENTROPY_SOURCES_KNOWN 7u

/* Half-open [begin, end). */
typedef struct loader_api_phys_range {
    uint64_t begin;
    uint64_t end;
} loader_api_phys_range;

typedef struct loader_api_virt_range {
    uint64_t begin;
    uint64_t end;
} loader_api_virt_range;

/* `count` entries starting `offset` bytes after the start of the BootInfo. */
typedef struct loader_api_array_ref {
    uint32_t offset;
    uint32_t count;
} loader_api_array_ref;

/* Keeps its layout in every version, so any kernel can read any version. */
typedef struct loader_api_boot_info_header {
    uint64_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t total_size; /* the whole block, arrays included */
    uint64_t abi_fingerprint;
} loader_api_boot_info_header;

typedef struct loader_api_hart_info {
    uint64_t hart_id;
    loader_api_hart_state state;
    int32_t sbi_error;            /* when FAILED; else 0 */
    loader_api_virt_range stack;  /* sp = stack.end at entry; guard page below begin */
    loader_api_virt_range tls;    /* tp = tls.begin at entry */
} loader_api_hart_info;

typedef struct loader_api_memory_region {
    loader_api_phys_range range;
    loader_api_memory_region_kind kind;
    uint32_t reserved;
} loader_api_memory_region;

/* physical = physical_begin + (virtual - virt.begin): the frames are contiguous. */
typedef struct loader_api_kernel_segment {
    loader_api_virt_range virt;
    uint64_t physical_begin;
    uint32_t flags; /* LOADER_API_SEGMENT_* */
    uint32_t reserved;
} loader_api_kernel_segment;

typedef struct loader_api_tls_template {
    uint64_t start;       /* virtual address of the PT_TLS image (slid) */
    uint64_t file_size;
    uint64_t memory_size;
    uint64_t alignment;
} loader_api_tls_template;

typedef struct loader_api_timestamps {
    uint64_t loader_entry_time;
    uint64_t loader_entry_instret;
    uint64_t handoff_time;
    uint64_t handoff_instret;
} loader_api_timestamps;

typedef struct loader_api_boot_info {
    loader_api_boot_info_header header;
    uint64_t boot_hart_id;
    loader_api_array_ref harts;           /* loader_api_hart_info[], sorted by hart_id */
    loader_api_array_ref memory_regions;  /* loader_api_memory_region[], sorted */
    loader_api_array_ref kernel_segments; /* loader_api_kernel_segment[], sorted */
    loader_api_array_ref command_line;    /* char[count], then a NUL not counted */
    loader_api_paging_mode paging_mode;
    uint32_t flags;
    uint64_t root_table;                  /* physical */
    uint64_t physmap_offset;              /* virtual = physical + physmap_offset */
    loader_api_virt_range physmap;
    loader_api_virt_range kernel_virtual;
    uint64_t kaslr_slide;
    loader_api_phys_range kernel_file;
    loader_api_tls_template tls_template;
    loader_api_phys_range device_tree;
    loader_api_phys_range initrd;
    uint8_t random[32];
    uint64_t timebase_frequency;
    loader_api_timestamps timestamps;
    /* 1.1: only when header.version_minor >= 1 (loader_api_has_v1_1). */
    uint32_t entropy_sources;             /* LOADER_API_ENTROPY_* */
    uint32_t reserved;
    uint64_t efi_system_table;            /* physical; 0 unless started through UEFI */
    loader_api_array_ref efi_memory_map;  /* bytes: count is the length in bytes */
    uint32_t efi_memory_descriptor_size;
    uint32_t efi_memory_descriptor_version;
} loader_api_boot_info;

/* The accessors trust the offsets, as the block comes from the loader. */
static inline const unsigned char* loader_api_boot_info_bytes(const loader_api_boot_info* info) {
    return (const unsigned char*)info;
}

static inline int loader_api_has_v1_1(const loader_api_boot_info* info) {
    return info->header.version_minor >= 1;
}

/* The three checks that make the rest of the block readable by this header
 * (the minor version aside, which depends on what the kernel reads). */
static inline int loader_api_is_compatible(const loader_api_boot_info* info) {
    return info->header.magic == LOADER_API_BOOT_INFO_MAGIC &&
           info->header.version_major == LOADER_API_BOOT_INFO_VERSION_MAJOR &&
           info->header.abi_fingerprint == LOADER_API_ABI_FINGERPRINT;
}

/* info->harts.count entries. */
static inline const loader_api_hart_info* loader_api_hart_table(const loader_api_boot_info* info) {
    return (const loader_api_hart_info*)(loader_api_boot_info_bytes(info) + info->harts.offset);
}

/* info->memory_regions.count entries. */
static inline const loader_api_memory_region* loader_api_memory_regions(const loader_api_boot_info* info) {
    return (const loader_api_memory_region*)(loader_api_boot_info_bytes(info) + info->memory_regions.offset);
}

/* info->kernel_segments.count entries. */
static inline const loader_api_kernel_segment* loader_api_kernel_segments(const loader_api_boot_info* info) {
    return (const loader_api_kernel_segment*)(loader_api_boot_info_bytes(info) + info->kernel_segments.offset);
}

/* NUL-terminated; info->command_line.count bytes before the NUL. */
static inline const char* loader_api_command_line(const loader_api_boot_info* info) {
    return (const char*)(loader_api_boot_info_bytes(info) + info->command_line.offset);
}

/* The raw UEFI memory map (descriptors efi_memory_descriptor_size bytes
 * apart), or NULL when there is none. A 1.0 block has no such field, so the
 * version decides before the field is read. */
static inline const unsigned char* loader_api_efi_memory_map(const loader_api_boot_info* info) {
    if (!loader_api_has_v1_1(info) || info->efi_memory_map.count == 0) return NULL;
    return loader_api_boot_info_bytes(info) + info->efi_memory_map.offset;
}

static inline uint32_t loader_api_efi_memory_map_size(const loader_api_boot_info* info) {
    return loader_api_has_v1_1(info) ? info->efi_memory_map.count : 0u;
}

/* The entry of `hart_id`, or NULL. Hart ids may be sparse and large; the
 * table is sorted, so this is a binary search. */
static inline const loader_api_hart_info* loader_api_find_hart(const loader_api_boot_info* info, uint64_t hart_id) {
    const loader_api_hart_info* table = loader_api_hart_table(info);
    uint32_t low = 0, high = info->harts.count;
    while (low < high) {
        const uint32_t middle = low + (high - low) / 2;
        if (table[middle].hart_id == hart_id) return &table[middle];
        if (table[middle].hart_id < hart_id) low = middle + 1;
        else high = middle;
    }
    return NULL;
}

/* -------------------------------------------------------------- LoaderConfig */

/* "LDRCONFG" read as a little-endian 64-bit integer. */
#define LOADER_API_CONFIG_MAGIC 0x47464e4f4352444cULL
#define LOADER_API_CONFIG_VERSION_MAJOR 1u
#define LOADER_API_CONFIG_VERSION_MINOR 0u
#define LOADER_API_CONFIG_SIZE 56u
#define LOADER_API_CONFIG_DEFAULT_STACK_SIZE 65536u

/* loader_api_kaslr */
typedef uint32_t loader_api_kaslr;
#define LOADER_API_KASLR_DEFAULT 0u /* the loader's build default */
#define LOADER_API_KASLR_ENABLED 1u
#define LOADER_API_KASLR_DISABLED 2u

/* loader_api_hart_selection */
typedef uint32_t loader_api_hart_selection;
#define LOADER_API_HARTS_ALL 0u
#define LOADER_API_HARTS_BOOT_HART_ONLY 1u
#define LOADER_API_HARTS_UP_TO 2u /* max_harts in all, the boot hart included */

/* loader_api_log_level */
typedef uint32_t loader_api_log_level;
#define LOADER_API_LOG_DEFAULT 0u
#define LOADER_API_LOG_ERROR 1u
#define LOADER_API_LOG_WARN 2u
#define LOADER_API_LOG_INFO 3u
#define LOADER_API_LOG_DEBUG 4u

typedef struct loader_api_loader_config {
    uint64_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t size;
    uint64_t stack_size; /* per hart, a multiple of 4 KiB, guard page not included */
    loader_api_paging_mode min_paging_mode;
    loader_api_paging_mode max_paging_mode;
    loader_api_paging_mode preferred_paging_mode;
    loader_api_kaslr kaslr;
    loader_api_hart_selection start_harts;
    uint32_t max_harts;
    uint32_t allow_write_execute;
    loader_api_log_level log_level;
} loader_api_loader_config;

/* LOADER_API_C_CONFIG(name, .field = value, ...) at file scope, once per
 * kernel, in C: defines `name`, the protocol's defaults (the C++
 * LoaderConfig{}) with the given fields changed, in section .loader_config.
 * `used` keeps it from being dropped by the compiler (nothing refers to it),
 * `retain` from --gc-sections. A field given twice is the point here (the
 * later value wins, as C specifies), so that warning is off for the one
 * initialiser; the closing redeclaration takes the caller's semicolon, which
 * would otherwise be an empty declaration (-pedantic). C++ kernels use
 * LOADER_API_CONFIG (loader_config.hpp). */
#define LOADER_API_C_CONFIG(name, ...)                                                      \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")  \
    __attribute__((used, retain, section(".loader_config"))) const loader_api_loader_config name = { \
        .magic = LOADER_API_CONFIG_MAGIC,                                                   \
        .version_major = LOADER_API_CONFIG_VERSION_MAJOR,                                   \
        .version_minor = LOADER_API_CONFIG_VERSION_MINOR,                                   \
        .size = LOADER_API_CONFIG_SIZE,                                                     \
        .stack_size = LOADER_API_CONFIG_DEFAULT_STACK_SIZE,                                 \
        .min_paging_mode = LOADER_API_PAGING_SV39,                                          \
        .max_paging_mode = LOADER_API_PAGING_SV57,                                          \
        .preferred_paging_mode = LOADER_API_PAGING_SV48,                                    \
        .kaslr = LOADER_API_KASLR_DEFAULT,                                                  \
        .start_harts = LOADER_API_HARTS_ALL,                                                \
        .max_harts = 0,                                                                     \
        .allow_write_execute = 0,                                                           \
        .log_level = LOADER_API_LOG_DEFAULT,                                                \
        __VA_ARGS__};                                                                       \
    _Pragma("GCC diagnostic pop") extern const loader_api_loader_config name

/* ------------------------------------------------------------------- Layout */

#ifdef __cplusplus
#define LOADER_API_STATIC_ASSERT(condition, message) static_assert(condition, message)
#else
#define LOADER_API_STATIC_ASSERT(condition, message) _Static_assert(condition, message)
#endif

LOADER_API_STATIC_ASSERT(sizeof(loader_api_phys_range) == 16 && sizeof(loader_api_virt_range) == 16, "range");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_array_ref) == 8, "array ref");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_boot_info_header) == 24, "header");
LOADER_API_STATIC_ASSERT(offsetof(loader_api_boot_info_header, abi_fingerprint) == 16, "header");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_hart_info) == 48, "hart info");
LOADER_API_STATIC_ASSERT(offsetof(loader_api_hart_info, tls) == 32, "hart info");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_memory_region) == 24, "memory region");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_kernel_segment) == 32, "kernel segment");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_tls_template) == 32 && sizeof(loader_api_timestamps) == 32, "tls, time");
LOADER_API_STATIC_ASSERT(offsetof(loader_api_boot_info, timestamps) == 248, "boot info 1.0");
LOADER_API_STATIC_ASSERT(offsetof(loader_api_boot_info, entropy_sources) == LOADER_API_BOOT_INFO_FIXED_SIZE_V1_0,
                         "boot info: 1.1 fields start where 1.0 ended");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_boot_info) == LOADER_API_BOOT_INFO_FIXED_SIZE_V1_1, "boot info 1.1");
LOADER_API_STATIC_ASSERT(sizeof(loader_api_loader_config) == LOADER_API_CONFIG_SIZE, "loader config");
LOADER_API_STATIC_ASSERT(offsetof(loader_api_loader_config, log_level) == 52, "loader config");

#ifdef __cplusplus
}
#endif

#endif /* LOADER_API_LOADER_API_H */
