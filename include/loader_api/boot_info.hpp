#pragma once
// The loader -> kernel ABI: one contiguous, read-only block reached through
// the physmap. Only fixed-width integers and byte offsets (no pointers, no
// implicit padding) so that C and Rust kernels can declare the same layout;
// docs/protocol.md is the specification, every offset it lists is asserted
// at the bottom of this file.
//
// This header stays light on purpose (no Hana): a kernel that only reads
// BootInfo pays for <cstdint>, <span> and the kmem address types.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "kmem/range.hpp"

namespace loader_api {

// "BOOTINFO" read as a little-endian 64-bit integer.
inline constexpr std::uint64_t kBootInfoMagic = 0x4f464e49544f4f42;
inline constexpr std::uint16_t kBootInfoVersionMajor = 1;
inline constexpr std::uint16_t kBootInfoVersionMinor = 1;

// Hash of the names, offsets and sizes of every field of the 1.0 fixed part
// of BootInfo and of the entry types of its arrays (reflect.hpp computes it
// and refuses to compile when it differs from this constant). Minor versions
// only append to the fixed part, so every 1.x block carries this value. It
// lives here so that a kernel which includes only this header can still
// compare it with header.abi_fingerprint.
inline constexpr std::uint64_t kAbiFingerprint = 0x509023801325d573;

// Bytes of the fixed part as each minor version defines it; the fields a
// minor version appended exist when header.version_minor is at least it.
inline constexpr std::uint32_t kBootInfoFixedSizeV1_0 = 280;
inline constexpr std::uint32_t kBootInfoFixedSizeV1_1 = 312;
constexpr std::uint32_t fixed_size_for_minor(std::uint16_t minor) {
    return minor == 0 ? kBootInfoFixedSizeV1_0 : kBootInfoFixedSizeV1_1;
}

// The satp.MODE numbers of the privileged spec, so the value can be written
// to satp as it is.
enum class PagingMode : std::uint32_t {
    Sv39 = 8,
    Sv48 = 9,
    Sv57 = 10,
};

constexpr bool is_valid(PagingMode mode) {
    return mode == PagingMode::Sv39 || mode == PagingMode::Sv48 || mode == PagingMode::Sv57;
}
constexpr unsigned virtual_address_bits(PagingMode mode) {
    return mode == PagingMode::Sv39 ? 39 : mode == PagingMode::Sv48 ? 48 : 57;
}
constexpr std::string_view to_string(PagingMode mode) {
    switch (mode) {
        case PagingMode::Sv39: return "Sv39";
        case PagingMode::Sv48: return "Sv48";
        case PagingMode::Sv57: return "Sv57";
    }
    return "?";
}

enum class MemoryRegionKind : std::uint32_t {
    Usable = 1,             // free RAM
    Reserved = 2,           // firmware (OpenSBI), /memreserve/, /reserved-memory: never touch
    Kernel = 3,             // the kernel's segments (in place in its ELF file or copied)
    KernelStack = 4,        // the per-hart stacks and their guard pages
    Tls = 5,                // the per-hart TLS blocks
    PageTables = 6,         // every page-table frame of the kernel's root
    BootInfo = 7,           // this block
    Fdt = 8,                // the device tree blob
    Initrd = 9,             // the initial ramdisk
    LoaderReclaimable = 10, // the loader's image (and the kernel ELF outside Kernel); free once the kernel no longer needs it
    // 1.1: free RAM the physmap does not reach (the paging mode's higher
    // half is too small for all of RAM); a 1.0 kernel treats it as Reserved.
    UsableUnmapped = 11,
    // 1.1: UEFI runtime services code and data (EfiRuntimeServicesCode/Data
    // of the EFI memory map); Reserved in 1.0. Map them to call the services.
    EfiRuntimeCode = 12,
    EfiRuntimeData = 13,
};
inline constexpr std::uint32_t kMemoryRegionKindLast = 13;

constexpr bool is_valid(MemoryRegionKind kind) {
    const auto value = static_cast<std::uint32_t>(kind);
    return value >= 1 && value <= kMemoryRegionKindLast;
}
constexpr std::string_view to_string(MemoryRegionKind kind) {
    switch (kind) {
        case MemoryRegionKind::Usable: return "Usable";
        case MemoryRegionKind::Reserved: return "Reserved";
        case MemoryRegionKind::Kernel: return "Kernel";
        case MemoryRegionKind::KernelStack: return "KernelStack";
        case MemoryRegionKind::Tls: return "Tls";
        case MemoryRegionKind::PageTables: return "PageTables";
        case MemoryRegionKind::BootInfo: return "BootInfo";
        case MemoryRegionKind::Fdt: return "Fdt";
        case MemoryRegionKind::Initrd: return "Initrd";
        case MemoryRegionKind::LoaderReclaimable: return "LoaderReclaimable";
        case MemoryRegionKind::UsableUnmapped: return "UsableUnmapped";
        case MemoryRegionKind::EfiRuntimeCode: return "EfiRuntimeCode";
        case MemoryRegionKind::EfiRuntimeData: return "EfiRuntimeData";
    }
    return "?";
}

enum class HartState : std::uint32_t {
    Started = 1,     // the hart entered the kernel with its own stack and TLS
    Failed = 2,      // SBI HSM hart_start failed: sbi_error says why
    NotStarted = 3,  // left stopped because LoaderConfig asked for fewer harts
    // 1.1: a cpu of the device tree that cannot run this kernel (no
    // mmu-type, or none of the paging mode in use); never started.
    Unusable = 4,
};
constexpr bool is_valid(HartState state) {
    return state == HartState::Started || state == HartState::Failed || state == HartState::NotStarted ||
           state == HartState::Unusable;
}
constexpr std::string_view to_string(HartState state) {
    switch (state) {
        case HartState::Started: return "Started";
        case HartState::Failed: return "Failed";
        case HartState::NotStarted: return "NotStarted";
        case HartState::Unusable: return "Unusable";
    }
    return "?";
}

// Half-open [begin, end) as two integers; the kmem types are for C++ code,
// these are what the block holds.
struct PhysRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    constexpr std::uint64_t size() const { return end - begin; }
    constexpr bool empty() const { return begin == end; }
    // Only meaningful for a well-formed range (validate() checks begin <= end).
    constexpr kmem::PhysicalRange get() const { return {kmem::PhysicalAddress(begin), kmem::PhysicalAddress(end)}; }
    static constexpr PhysRange from(kmem::PhysicalRange range) { return {range.begin().value(), range.end().value()}; }
    friend constexpr bool operator==(PhysRange, PhysRange) = default;
};

struct VirtRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    constexpr std::uint64_t size() const { return end - begin; }
    constexpr bool empty() const { return begin == end; }
    constexpr kmem::VirtualRange get() const { return {kmem::VirtualAddress(begin), kmem::VirtualAddress(end)}; }
    static constexpr VirtRange from(kmem::VirtualRange range) { return {range.begin().value(), range.end().value()}; }
    friend constexpr bool operator==(VirtRange, VirtRange) = default;
};

// An array inside the block: `count` entries starting `offset` bytes after
// the start of BootInfo. The entry type is fixed by the field.
struct ArrayRef {
    std::uint32_t offset = 0;
    std::uint32_t count = 0;
};

struct BootInfoHeader {
    std::uint64_t magic = kBootInfoMagic;
    std::uint16_t version_major = kBootInfoVersionMajor;
    std::uint16_t version_minor = kBootInfoVersionMinor;
    std::uint32_t total_size = 0;  // the whole block, arrays included
    std::uint64_t abi_fingerprint = kAbiFingerprint;
};

struct HartInfo {
    std::uint64_t hart_id = 0;
    HartState state = HartState::NotStarted;
    std::int32_t sbi_error = 0;  // the SBI error code when state == Failed, else 0
    VirtRange stack;             // sp = stack.end at entry; an unmapped guard page lies below stack.begin
    VirtRange tls;               // tp = tls.begin at entry; empty when the kernel has no PT_TLS

    // Started harts run on their stack. A hart that failed after the loader
    // had planned it keeps its stack and TLS block, mapped and reserved, so
    // that the kernel can start it later; harts failed earlier and
    // NotStarted ones have none.
    constexpr bool owns_stack() const {
        return state == HartState::Started || (state == HartState::Failed && !stack.empty());
    }
};

struct MemoryRegion {
    PhysRange range;
    MemoryRegionKind kind = MemoryRegionKind::Reserved;
    std::uint32_t reserved = 0;  // explicit padding, 0
};

enum KernelSegmentFlags : std::uint32_t {
    kSegmentRead = 1,
    kSegmentWrite = 2,
    kSegmentExecute = 4,
    // The segment's frames are a copy made by the loader (writable data,
    // .bss); without it they are the ELF file's own bytes, mapped in place.
    kSegmentCopied = 8,
};

// One piece of the kernel image: where it is mapped and which frames back it.
// The frames are contiguous: physical = physical_begin + (va - virt.begin).
struct KernelSegment {
    VirtRange virt;               // page-aligned
    std::uint64_t physical_begin = 0;
    std::uint32_t flags = 0;      // KernelSegmentFlags
    std::uint32_t reserved = 0;   // explicit padding, 0

    constexpr PhysRange physical() const { return {physical_begin, physical_begin + virt.size()}; }
};

// The kernel's PT_TLS segment after the KASLR slide; each hart's TLS block
// is a copy of it (file_size bytes of .tdata, then zeros up to memory_size).
struct TlsTemplate {
    std::uint64_t start = 0;      // virtual address of the initialisation image
    std::uint64_t file_size = 0;
    std::uint64_t memory_size = 0;
    std::uint64_t alignment = 0;  // power of two; 0 when there is no PT_TLS
};

// 1.1, BootInfo::entropy_sources: what `random` and the KASLR key were
// derived from. None of them set: only timer values, which an attacker can
// guess; the loader then also leaves KASLR off.
inline constexpr std::uint32_t kEntropyDeviceTree = 1;  // /chosen/rng-seed
inline constexpr std::uint32_t kEntropyZkr = 2;         // the Zkr `seed` CSR
inline constexpr std::uint32_t kEntropyEfiRng = 4;      // EFI_RNG_PROTOCOL, before ExitBootServices
inline constexpr std::uint32_t kEntropySourcesKnown = kEntropyDeviceTree | kEntropyZkr | kEntropyEfiRng;

// rdtime (timebase ticks) and rdinstret values read by the boot hart.
struct Timestamps {
    std::uint64_t loader_entry_time = 0;
    std::uint64_t loader_entry_instret = 0;
    std::uint64_t handoff_time = 0;
    std::uint64_t handoff_instret = 0;
};

struct BootInfo {
    BootInfoHeader header;
    std::uint64_t boot_hart_id = 0;
    ArrayRef harts;                 // HartInfo[], sorted by hart_id
    ArrayRef memory_regions;        // MemoryRegion[], sorted by address
    ArrayRef kernel_segments;       // KernelSegment[], sorted by virtual address
    ArrayRef command_line;          // char[count], followed by a NUL not counted
    PagingMode paging_mode = PagingMode::Sv39;
    std::uint32_t flags = 0;        // none defined in 1.0; minor versions may add bits
    std::uint64_t root_table = 0;   // physical address of the root page table (satp.PPN << 12)
    std::uint64_t physmap_offset = 0;  // virtual = physical + physmap_offset inside `physmap`
    VirtRange physmap;
    VirtRange kernel_virtual;       // every kernel segment lies inside
    std::uint64_t kaslr_slide = 0;  // run-time minus link-time virtual address (mod 2^64)
    PhysRange kernel_file;          // the kernel's ELF file, for symbolisation
    TlsTemplate tls_template;
    PhysRange device_tree;
    PhysRange initrd;               // empty when there is none
    std::uint8_t random[32] = {};   // fresh entropy, not used for KASLR
    std::uint64_t timebase_frequency = 0;  // Hz of rdtime
    Timestamps timestamps;
    // --- 1.1 (read only when header.version_minor >= 1; has_v1_1())
    std::uint32_t entropy_sources = 0;     // kEntropy* bits
    std::uint32_t reserved = 0;            // explicit padding, 0
    std::uint64_t efi_system_table = 0;    // physical address of EFI_SYSTEM_TABLE; 0 unless started through UEFI
    ArrayRef efi_memory_map;               // bytes (count = byte length): the map GetMemoryMap returned for ExitBootServices
    std::uint32_t efi_memory_descriptor_size = 0;     // stride of efi_memory_map, 0 when it is empty
    std::uint32_t efi_memory_descriptor_version = 0;  // as GetMemoryMap returned it

    // The 1.1 fields exist (an older block ends at offset 280).
    bool has_v1_1() const { return header.version_minor >= 1; }

    // Typed views of the arrays. They trust the offsets: run validate() on a
    // block that did not come from a trusted loader.
    std::span<const HartInfo> hart_table() const { return array<HartInfo>(harts); }
    std::span<const MemoryRegion> regions() const { return array<MemoryRegion>(memory_regions); }
    std::span<const KernelSegment> segments() const { return array<KernelSegment>(kernel_segments); }
    std::string_view cmdline() const {
        return {reinterpret_cast<const char*>(bytes() + command_line.offset), command_line.count};
    }

    // The entry of `hart_id`, or nullptr; the table is sorted, so this is a
    // binary search (hart ids may be sparse and large).
    // The raw EFI memory map (descriptors of efi_memory_descriptor_size
    // bytes, EFI_MEMORY_DESCRIPTOR at the start of each); empty before 1.1.
    std::span<const std::byte> efi_memory_map_bytes() const {
        if (!has_v1_1()) return {};
        return {bytes() + efi_memory_map.offset, efi_memory_map.count};
    }

    const HartInfo* find_hart(std::uint64_t hart_id) const {
        auto table = hart_table();
        std::size_t low = 0, high = table.size();
        while (low < high) {
            const std::size_t middle = low + (high - low) / 2;
            if (table[middle].hart_id == hart_id) return &table[middle];
            if (table[middle].hart_id < hart_id) low = middle + 1;
            else high = middle;
        }
        return nullptr;
    }

    const std::byte* bytes() const { return reinterpret_cast<const std::byte*>(this); }

    template <class T>
    std::span<const T> array(ArrayRef ref) const {
        return {reinterpret_cast<const T*>(bytes() + ref.offset), ref.count};
    }
};

// --- Layout: docs/protocol.md lists these numbers; change both or neither.

template <class T>
inline constexpr bool kAbiType = std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T> &&
                                 std::has_unique_object_representations_v<T>;  // no hidden padding

static_assert(kAbiType<PhysRange> && sizeof(PhysRange) == 16 && alignof(PhysRange) == 8);
static_assert(kAbiType<VirtRange> && sizeof(VirtRange) == 16 && alignof(VirtRange) == 8);
static_assert(kAbiType<ArrayRef> && sizeof(ArrayRef) == 8 && alignof(ArrayRef) == 4);

static_assert(kAbiType<BootInfoHeader> && sizeof(BootInfoHeader) == 24);
static_assert(offsetof(BootInfoHeader, magic) == 0);
static_assert(offsetof(BootInfoHeader, version_major) == 8);
static_assert(offsetof(BootInfoHeader, version_minor) == 10);
static_assert(offsetof(BootInfoHeader, total_size) == 12);
static_assert(offsetof(BootInfoHeader, abi_fingerprint) == 16);

static_assert(kAbiType<HartInfo> && sizeof(HartInfo) == 48 && alignof(HartInfo) == 8);
static_assert(offsetof(HartInfo, hart_id) == 0);
static_assert(offsetof(HartInfo, state) == 8);
static_assert(offsetof(HartInfo, sbi_error) == 12);
static_assert(offsetof(HartInfo, stack) == 16);
static_assert(offsetof(HartInfo, tls) == 32);

static_assert(kAbiType<MemoryRegion> && sizeof(MemoryRegion) == 24 && alignof(MemoryRegion) == 8);
static_assert(offsetof(MemoryRegion, range) == 0);
static_assert(offsetof(MemoryRegion, kind) == 16);
static_assert(offsetof(MemoryRegion, reserved) == 20);

static_assert(kAbiType<KernelSegment> && sizeof(KernelSegment) == 32 && alignof(KernelSegment) == 8);
static_assert(offsetof(KernelSegment, virt) == 0);
static_assert(offsetof(KernelSegment, physical_begin) == 16);
static_assert(offsetof(KernelSegment, flags) == 24);
static_assert(offsetof(KernelSegment, reserved) == 28);

static_assert(kAbiType<TlsTemplate> && sizeof(TlsTemplate) == 32);
static_assert(offsetof(TlsTemplate, start) == 0);
static_assert(offsetof(TlsTemplate, file_size) == 8);
static_assert(offsetof(TlsTemplate, memory_size) == 16);
static_assert(offsetof(TlsTemplate, alignment) == 24);

static_assert(kAbiType<Timestamps> && sizeof(Timestamps) == 32);
static_assert(offsetof(Timestamps, loader_entry_time) == 0);
static_assert(offsetof(Timestamps, loader_entry_instret) == 8);
static_assert(offsetof(Timestamps, handoff_time) == 16);
static_assert(offsetof(Timestamps, handoff_instret) == 24);

static_assert(kAbiType<BootInfo> && sizeof(BootInfo) == kBootInfoFixedSizeV1_1 && alignof(BootInfo) == 8);
static_assert(offsetof(BootInfo, header) == 0);
static_assert(offsetof(BootInfo, boot_hart_id) == 24);
static_assert(offsetof(BootInfo, harts) == 32);
static_assert(offsetof(BootInfo, memory_regions) == 40);
static_assert(offsetof(BootInfo, kernel_segments) == 48);
static_assert(offsetof(BootInfo, command_line) == 56);
static_assert(offsetof(BootInfo, paging_mode) == 64);
static_assert(offsetof(BootInfo, flags) == 68);
static_assert(offsetof(BootInfo, root_table) == 72);
static_assert(offsetof(BootInfo, physmap_offset) == 80);
static_assert(offsetof(BootInfo, physmap) == 88);
static_assert(offsetof(BootInfo, kernel_virtual) == 104);
static_assert(offsetof(BootInfo, kaslr_slide) == 120);
static_assert(offsetof(BootInfo, kernel_file) == 128);
static_assert(offsetof(BootInfo, tls_template) == 144);
static_assert(offsetof(BootInfo, device_tree) == 176);
static_assert(offsetof(BootInfo, initrd) == 192);
static_assert(offsetof(BootInfo, random) == 208);
static_assert(offsetof(BootInfo, timebase_frequency) == 240);
static_assert(offsetof(BootInfo, timestamps) == 248);
static_assert(offsetof(BootInfo, entropy_sources) == kBootInfoFixedSizeV1_0);
static_assert(offsetof(BootInfo, reserved) == 284);
static_assert(offsetof(BootInfo, efi_system_table) == 288);
static_assert(offsetof(BootInfo, efi_memory_map) == 296);
static_assert(offsetof(BootInfo, efi_memory_descriptor_size) == 304);
static_assert(offsetof(BootInfo, efi_memory_descriptor_version) == 308);

}  // namespace loader_api
