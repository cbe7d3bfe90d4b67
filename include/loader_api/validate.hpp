#pragma once
// Every invariant docs/protocol.md promises about a BootInfo, checked in one
// pass that stops at the first violation. The same function runs in host
// tests, host tools and the test kernel, so it is freestanding and needs
// nothing but the block and the number of bytes readable behind it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "loader_api/boot_info.hpp"

namespace loader_api {

struct ValidationError {
    enum class Code : std::uint8_t {
        BadMagic,
        UnsupportedVersion,
        TotalSizeTooSmall,
        TotalSizeBeyondAvailable,
        FingerprintMismatch,
        ArrayOutOfBounds,
        CommandLineNotTerminated,
        RangeInverted,
        NoMemoryRegions,
        RegionEmpty,
        RegionMisaligned,
        RegionKindUnknown,
        RegionsUnsorted,
        RegionsOverlap,
        RegionsNotMerged,
        BootHartMissing,
        BootHartNotStarted,
        HartsUnsorted,
        HartIdDuplicate,
        HartStateUnknown,
        HartErrorInconsistent,
        StackEmpty,
        StackMisaligned,
        StackInPhysmap,
        StacksOverlap,
        TlsBlockTooSmall,
        TlsBlockMisaligned,
        TlsBlocksOverlap,
        TlsTemplateFileSizeExceedsMemorySize,
        TlsTemplateAlignmentNotPowerOfTwo,
        TlsTemplateOutsideKernel,
        PagingModeUnknown,
        NotHigherHalf,
        RootTableMisaligned,
        RootTableNotInPageTables,
        PhysmapOffsetOverflow,
        PhysmapIncomplete,
        KernelRangeMisaligned,
        KernelOverlapsPhysmap,
        NoKernelSegments,
        KernelSegmentMisaligned,
        KernelSegmentOutsideKernelRange,
        KernelSegmentsOverlap,
        KernelSegmentNotInKernelRegion,
        OutsideRam,
        WrongRegionKind,
        RandomAllZero,
        TimebaseZero,
        TimestampsBackwards,
        EntropySourceUnknown,
        EfiMemoryMapMalformed,
        EfiSystemTableMisplaced,
    };
    Code code = Code::BadMagic;
    std::string_view field;          // e.g. "memory_regions", "tls_template.alignment"
    std::uint64_t index = kNoIndex;  // entry of the array `field`, or kNoIndex
    std::uint64_t value = 0;         // the offending value
    std::uint64_t other = 0;         // what it was compared with (see describe())

    static constexpr std::uint64_t kNoIndex = ~std::uint64_t{0};

    struct Text {
        std::string_view problem;
        std::string_view other_label;  // empty: `other` is not printed
    };
    static constexpr Text describe(Code code) {
        switch (code) {
            case Code::BadMagic: return {"bad magic", "expected"};
            case Code::UnsupportedVersion: return {"unsupported major version", "supported"};
            case Code::TotalSizeTooSmall: return {"block smaller than the fixed part", "fixed part"};
            case Code::TotalSizeBeyondAvailable: return {"block larger than the bytes available", "available"};
            case Code::FingerprintMismatch: return {"ABI fingerprint differs from this build's", "expected"};
            case Code::ArrayOutOfBounds: return {"array ends past total_size (end offset)", "total_size"};
            case Code::CommandLineNotTerminated: return {"command line not NUL-terminated, byte", ""};
            case Code::RangeInverted: return {"range begins after its end: begin", "end"};
            case Code::NoMemoryRegions: return {"memory map is empty", ""};
            case Code::RegionEmpty: return {"region is empty at", ""};
            case Code::RegionMisaligned: return {"region not page-aligned: begin", "end"};
            case Code::RegionKindUnknown: return {"unknown region kind", ""};
            case Code::RegionsUnsorted: return {"region begins before the previous one", "previous begins at"};
            case Code::RegionsOverlap: return {"region overlaps the previous one: begins at", "previous ends at"};
            case Code::RegionsNotMerged: return {"adjacent regions of the same kind not merged at", ""};
            case Code::BootHartMissing: return {"boot hart not in the hart table", ""};
            case Code::BootHartNotStarted: return {"boot hart not started, hart", "state"};
            case Code::HartsUnsorted: return {"hart table not sorted: hart", "previous"};
            case Code::HartIdDuplicate: return {"hart id listed twice", ""};
            case Code::HartStateUnknown: return {"unknown hart state", ""};
            case Code::HartErrorInconsistent: return {"SBI error does not match the state: error", "state"};
            case Code::StackEmpty: return {"started hart without a stack, hart", ""};
            case Code::StackMisaligned: return {"stack not page-aligned: begin", "end"};
            case Code::StackInPhysmap: return {"stack inside the physmap (no unmapped guard page): begin", "physmap begin"};
            case Code::StacksOverlap: return {"stack overlaps another hart's: begin", "other hart"};
            case Code::TlsBlockTooSmall: return {"TLS block smaller than the template: size", "template memory_size"};
            case Code::TlsBlockMisaligned: return {"TLS block misaligned: begin", "alignment"};
            case Code::TlsBlocksOverlap: return {"TLS block overlaps another hart's: begin", "other hart"};
            case Code::TlsTemplateFileSizeExceedsMemorySize: return {"file_size exceeds memory_size", "memory_size"};
            case Code::TlsTemplateAlignmentNotPowerOfTwo: return {"alignment not a power of two", ""};
            case Code::TlsTemplateOutsideKernel: return {"TLS image outside the kernel's range: start", "end"};
            case Code::PagingModeUnknown: return {"unknown paging mode", ""};
            case Code::NotHigherHalf: return {"address not canonical in the higher half of the paging mode", "va bits"};
            case Code::RootTableMisaligned: return {"root table not page-aligned", ""};
            case Code::RootTableNotInPageTables: return {"root table not in a PageTables region", ""};
            case Code::PhysmapOffsetOverflow: return {"physical address + physmap_offset overflows", "offset"};
            case Code::PhysmapIncomplete: return {"RAM not covered by the physmap: physical", "mapped at"};
            case Code::KernelRangeMisaligned: return {"kernel range empty or not page-aligned: begin", "end"};
            case Code::KernelOverlapsPhysmap: return {"kernel range overlaps the physmap: begin", "physmap begin"};
            case Code::NoKernelSegments: return {"no kernel segments", ""};
            case Code::KernelSegmentMisaligned: return {"segment empty or not page-aligned: virtual", "physical"};
            case Code::KernelSegmentOutsideKernelRange: return {"segment outside kernel_virtual: begin", "end"};
            case Code::KernelSegmentsOverlap: return {"segments unsorted or overlapping: begin", "previous ends at"};
            case Code::KernelSegmentNotInKernelRegion: return {"segment frames not in Kernel regions: physical", "end"};
            case Code::OutsideRam: return {"range not inside RAM: begin", "end"};
            case Code::WrongRegionKind: return {"range not inside a region of its kind: begin", "end"};
            case Code::RandomAllZero: return {"random bytes all zero", ""};
            case Code::TimebaseZero: return {"timebase frequency is zero", ""};
            case Code::TimestampsBackwards: return {"handoff before loader entry: handoff", "entry"};
            case Code::EntropySourceUnknown: return {"unknown entropy source bits", "known"};
            case Code::EfiMemoryMapMalformed: return {"EFI memory map not whole descriptors of at least 40 bytes: bytes", "descriptor size"};
            case Code::EfiSystemTableMisplaced: return {"EFI system table not 8-byte aligned in RAM", ""};
        }
        return {"?", ""};
    }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        const Text text = describe(code);
        kmem::print(sink, "boot_info: ", field);
        if (index != kNoIndex) {
            sink.put('[');
            kmem::print(sink, index);
            sink.put(']');
        }
        kmem::print(sink, ": ", text.problem);
        sink.put(' ');
        kmem::print(sink, kmem::hex(value));
        if (!text.other_label.empty()) {
            kmem::print(sink, " (", text.other_label);
            sink.put(' ');
            kmem::print(sink, kmem::hex(other));
            sink.put(')');
        }
    }
};

namespace detail {

using Error = ValidationError;
using Code = ValidationError::Code;
using Result = kmem::Expected<void, ValidationError>;

constexpr Result fail_at(Code code, std::string_view field, std::uint64_t index, std::uint64_t value,
                         std::uint64_t other = 0) {
    return kmem::unexpected(Error{code, field, index, value, other});
}
constexpr Result fail(Code code, std::string_view field, std::uint64_t value, std::uint64_t other = 0) {
    return fail_at(code, field, Error::kNoIndex, value, other);
}

template <class Range>
constexpr bool overlap(Range a, Range b) {
    return a.begin < b.end && b.begin < a.end && !a.empty() && !b.empty();
}

// Is [begin, end) covered without gaps by regions (of `kind`, unless any
// kind is fine)? The regions are sorted and non-overlapping by now.
constexpr bool covered(std::span<const MemoryRegion> regions, PhysRange range, bool any_kind, MemoryRegionKind kind) {
    std::uint64_t next = range.begin;
    for (const MemoryRegion& region : regions) {
        if (next >= range.end) break;
        if (region.range.end <= next) continue;
        if (region.range.begin > next) return false;
        if (!any_kind && region.kind != kind) return false;
        next = region.range.end;
    }
    return next >= range.end;
}

constexpr bool higher_half(std::uint64_t address, unsigned va_bits) {
    return (address >> 63) != 0 && kmem::is_canonical(kmem::VirtualAddress(address), va_bits);
}

// Both ends of a non-empty range: begin and the last byte.
constexpr Result check_higher_half(VirtRange range, std::string_view field, std::uint64_t index, unsigned va_bits) {
    if (range.empty()) return {};
    if (!higher_half(range.begin, va_bits)) return fail_at(Code::NotHigherHalf, field, index, range.begin, va_bits);
    if (!higher_half(range.end - 1, va_bits)) return fail_at(Code::NotHigherHalf, field, index, range.end - 1, va_bits);
    return {};
}

template <class Range>
constexpr Result check_order(Range range, std::string_view field, std::uint64_t index = Error::kNoIndex) {
    if (range.begin > range.end) return fail_at(Code::RangeInverted, field, index, range.begin, range.end);
    return {};
}

// The fixed part of this block: arrays start after it. A newer minor's
// block has at least the fields this build knows.
constexpr std::uint32_t fixed_size(const BootInfo& info) { return fixed_size_for_minor(info.header.version_minor); }

inline Result check_header(const BootInfo& info, std::size_t available) {
    const BootInfoHeader& header = info.header;
    if (header.magic != kBootInfoMagic) return fail(Code::BadMagic, "header.magic", header.magic, kBootInfoMagic);
    if (header.version_major != kBootInfoVersionMajor)
        return fail(Code::UnsupportedVersion, "header.version_major", header.version_major, kBootInfoVersionMajor);
    const std::uint32_t fixed = fixed_size(info);
    if (header.total_size < fixed) return fail(Code::TotalSizeTooSmall, "header.total_size", header.total_size, fixed);
    if (header.total_size > available)
        return fail(Code::TotalSizeBeyondAvailable, "header.total_size", header.total_size, available);
    if (header.abi_fingerprint != kAbiFingerprint)
        return fail(Code::FingerprintMismatch, "header.abi_fingerprint", header.abi_fingerprint, kAbiFingerprint);

    const auto inside = [&](ArrayRef ref, std::uint64_t entry_size, std::uint64_t alignment,
                            std::string_view field) -> Result {
        const std::uint64_t end = ref.offset + std::uint64_t{ref.count} * entry_size;  // < 2^65, no overflow in 64 bits
        if (ref.offset < fixed || ref.offset % alignment != 0 || end > header.total_size)
            return fail(Code::ArrayOutOfBounds, field, ref.offset < fixed ? ref.offset : end, header.total_size);
        return {};
    };
    KMEM_TRY(inside(info.harts, sizeof(HartInfo), alignof(HartInfo), "harts"));
    KMEM_TRY(inside(info.memory_regions, sizeof(MemoryRegion), alignof(MemoryRegion), "memory_regions"));
    KMEM_TRY(inside(info.kernel_segments, sizeof(KernelSegment), alignof(KernelSegment), "kernel_segments"));
    // The NUL after the text is part of the contract, so it must fit too.
    KMEM_TRY(inside({info.command_line.offset, info.command_line.count + 1}, 1, 1, "command_line"));
    if (info.has_v1_1() && info.efi_memory_map.count != 0)
        KMEM_TRY(inside(info.efi_memory_map, 1, 8, "efi_memory_map"));
    const auto terminator = static_cast<char>(info.bytes()[info.command_line.offset + info.command_line.count]);
    if (terminator != '\0')
        return fail(Code::CommandLineNotTerminated, "command_line", static_cast<std::uint8_t>(terminator));
    return {};
}

inline Result check_regions(std::span<const MemoryRegion> regions, bool newer_minor) {
    if (regions.empty()) return fail(Code::NoMemoryRegions, "memory_regions", 0);
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const PhysRange range = regions[i].range;
        KMEM_TRY(check_order(range, "memory_regions", i));
        if (range.empty()) return fail_at(Code::RegionEmpty, "memory_regions", i, range.begin);
        if (range.begin % kmem::kPageSize != 0 || range.end % kmem::kPageSize != 0)
            return fail_at(Code::RegionMisaligned, "memory_regions", i, range.begin, range.end);
        // A newer minor version may add kinds this build does not know;
        // the kernel treats those as Reserved (docs/protocol.md, versioning).
        if (!is_valid(regions[i].kind) && !newer_minor)
            return fail_at(Code::RegionKindUnknown, "memory_regions", i, static_cast<std::uint32_t>(regions[i].kind));
        if (i == 0) continue;
        const MemoryRegion& previous = regions[i - 1];
        if (range.begin < previous.range.begin)
            return fail_at(Code::RegionsUnsorted, "memory_regions", i, range.begin, previous.range.begin);
        if (range.begin < previous.range.end)
            return fail_at(Code::RegionsOverlap, "memory_regions", i, range.begin, previous.range.end);
        if (range.begin == previous.range.end && regions[i].kind == previous.kind)
            return fail_at(Code::RegionsNotMerged, "memory_regions", i, range.begin);
    }
    return {};
}

inline Result check_paging(const BootInfo& info, std::span<const MemoryRegion> regions) {
    if (!is_valid(info.paging_mode))
        return fail(Code::PagingModeUnknown, "paging_mode", static_cast<std::uint32_t>(info.paging_mode));
    if (info.root_table % kmem::kPageSize != 0) return fail(Code::RootTableMisaligned, "root_table", info.root_table);
    if (!covered(regions, {info.root_table, info.root_table + kmem::kPageSize}, false, MemoryRegionKind::PageTables))
        return fail(Code::RootTableNotInPageTables, "root_table", info.root_table);
    const unsigned va_bits = virtual_address_bits(info.paging_mode);

    KMEM_TRY(check_order(info.physmap, "physmap"));
    KMEM_TRY(check_higher_half(info.physmap, "physmap", Error::kNoIndex, va_bits));
    // Regions are sorted: the first one and the last one below the first
    // UsableUnmapped region bound what the physmap maps; from there on the
    // physmap does not reach (1.1).
    const std::uint64_t ram_begin = regions.front().range.begin;
    std::uint64_t ram_end = ram_begin;
    for (const MemoryRegion& region : regions) {
        if (region.kind == MemoryRegionKind::UsableUnmapped) break;
        ram_end = region.range.end;
    }
    if (ram_end == ram_begin) return fail(Code::PhysmapIncomplete, "physmap", ram_begin, 0);
    std::uint64_t mapped_begin = 0, mapped_end = 0;
    if (__builtin_add_overflow(ram_begin, info.physmap_offset, &mapped_begin) ||
        __builtin_add_overflow(ram_end, info.physmap_offset, &mapped_end))
        return fail(Code::PhysmapOffsetOverflow, "physmap_offset", ram_end, info.physmap_offset);
    if (mapped_begin < info.physmap.begin)
        return fail(Code::PhysmapIncomplete, "physmap", ram_begin, mapped_begin);
    if (mapped_end > info.physmap.end)
        return fail(Code::PhysmapIncomplete, "physmap", ram_end - 1, mapped_end - 1);
    return {};
}

inline Result check_kernel(const BootInfo& info, std::span<const MemoryRegion> regions) {
    const unsigned va_bits = virtual_address_bits(info.paging_mode);
    const VirtRange kernel = info.kernel_virtual;
    KMEM_TRY(check_order(kernel, "kernel_virtual"));
    if (kernel.empty() || kernel.begin % kmem::kPageSize != 0 || kernel.end % kmem::kPageSize != 0)
        return fail(Code::KernelRangeMisaligned, "kernel_virtual", kernel.begin, kernel.end);
    KMEM_TRY(check_higher_half(kernel, "kernel_virtual", Error::kNoIndex, va_bits));
    if (overlap(kernel, info.physmap))
        return fail(Code::KernelOverlapsPhysmap, "kernel_virtual", kernel.begin, info.physmap.begin);

    const auto segments = info.segments();
    if (segments.empty()) return fail(Code::NoKernelSegments, "kernel_segments", 0);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const KernelSegment& segment = segments[i];
        KMEM_TRY(check_order(segment.virt, "kernel_segments", i));
        if (segment.virt.empty() || segment.virt.begin % kmem::kPageSize != 0 ||
            segment.virt.end % kmem::kPageSize != 0 || segment.physical_begin % kmem::kPageSize != 0)
            return fail_at(Code::KernelSegmentMisaligned, "kernel_segments", i, segment.virt.begin,
                        segment.physical_begin);
        if (segment.virt.begin < kernel.begin || segment.virt.end > kernel.end)
            return fail_at(Code::KernelSegmentOutsideKernelRange, "kernel_segments", i, segment.virt.begin,
                        segment.virt.end);
        if (i > 0 && segment.virt.begin < segments[i - 1].virt.end)
            return fail_at(Code::KernelSegmentsOverlap, "kernel_segments", i, segment.virt.begin,
                        segments[i - 1].virt.end);
        const PhysRange frames = segment.physical();
        if (frames.end < frames.begin || !covered(regions, frames, false, MemoryRegionKind::Kernel))
            return fail_at(Code::KernelSegmentNotInKernelRegion, "kernel_segments", i, frames.begin, frames.end);
    }

    const TlsTemplate& tls = info.tls_template;
    if (tls.file_size > tls.memory_size)
        return fail(Code::TlsTemplateFileSizeExceedsMemorySize, "tls_template.file_size", tls.file_size,
                    tls.memory_size);
    if (tls.memory_size != 0 && !kmem::is_power_of_two(tls.alignment))
        return fail(Code::TlsTemplateAlignmentNotPowerOfTwo, "tls_template.alignment", tls.alignment);
    if (tls.memory_size != 0) {
        std::uint64_t image_end = 0;
        if (__builtin_add_overflow(tls.start, tls.file_size, &image_end) || tls.start < kernel.begin ||
            image_end > kernel.end)
            return fail(Code::TlsTemplateOutsideKernel, "tls_template.start", tls.start, image_end);
    }
    return {};
}

inline Result check_harts(const BootInfo& info) {
    const bool newer_minor = info.header.version_minor > kBootInfoVersionMinor;
    const auto harts = info.hart_table();
    const unsigned va_bits = virtual_address_bits(info.paging_mode);
    const TlsTemplate& tls = info.tls_template;
    for (std::size_t i = 0; i < harts.size(); ++i) {
        const HartInfo& hart = harts[i];
        if (i > 0 && hart.hart_id == harts[i - 1].hart_id)
            return fail_at(Code::HartIdDuplicate, "harts", i, hart.hart_id);
        if (i > 0 && hart.hart_id < harts[i - 1].hart_id)
            return fail_at(Code::HartsUnsorted, "harts", i, hart.hart_id, harts[i - 1].hart_id);
        if (!is_valid(hart.state) && !newer_minor)
            return fail_at(Code::HartStateUnknown, "harts", i, static_cast<std::uint32_t>(hart.state));
        if ((hart.state == HartState::Failed) != (hart.sbi_error != 0))
            return fail_at(Code::HartErrorInconsistent, "harts", i, static_cast<std::uint64_t>(std::int64_t{hart.sbi_error}),
                        static_cast<std::uint32_t>(hart.state));
        if (!hart.owns_stack()) continue;

        KMEM_TRY(check_order(hart.stack, "harts.stack", i));
        KMEM_TRY(check_order(hart.tls, "harts.tls", i));
        if (hart.stack.empty()) return fail_at(Code::StackEmpty, "harts.stack", i, hart.hart_id);
        if (hart.stack.begin % kmem::kPageSize != 0 || hart.stack.end % kmem::kPageSize != 0)
            return fail_at(Code::StackMisaligned, "harts.stack", i, hart.stack.begin, hart.stack.end);
        KMEM_TRY(check_higher_half(hart.stack, "harts.stack", i, va_bits));
        // The guard page below a stack is unmapped, which the physmap's
        // pages cannot be.
        const VirtRange with_guard{hart.stack.begin - kmem::kPageSize, hart.stack.end};
        if (overlap(with_guard, info.physmap))
            return fail_at(Code::StackInPhysmap, "harts.stack", i, hart.stack.begin, info.physmap.begin);

        if (tls.memory_size != 0) {
            if (hart.tls.size() < tls.memory_size)
                return fail_at(Code::TlsBlockTooSmall, "harts.tls", i, hart.tls.size(), tls.memory_size);
            if (hart.tls.begin % tls.alignment != 0)
                return fail_at(Code::TlsBlockMisaligned, "harts.tls", i, hart.tls.begin, tls.alignment);
            KMEM_TRY(check_higher_half(hart.tls, "harts.tls", i, va_bits));
        }
        // Quadratic, but only over harts with stacks and with no allocation;
        // a few thousand harts stay well under a millisecond.
        for (std::size_t j = 0; j < i; ++j) {
            if (!harts[j].owns_stack()) continue;
            if (overlap(with_guard, VirtRange{harts[j].stack.begin - kmem::kPageSize, harts[j].stack.end}))
                return fail_at(Code::StacksOverlap, "harts.stack", i, hart.stack.begin, harts[j].hart_id);
            if (overlap(hart.tls, harts[j].tls))
                return fail_at(Code::TlsBlocksOverlap, "harts.tls", i, hart.tls.begin, harts[j].hart_id);
        }
    }
    const HartInfo* boot = info.find_hart(info.boot_hart_id);
    if (boot == nullptr) return fail(Code::BootHartMissing, "boot_hart_id", info.boot_hart_id);
    if (boot->state != HartState::Started)
        return fail(Code::BootHartNotStarted, "boot_hart_id", info.boot_hart_id,
                    static_cast<std::uint32_t>(boot->state));
    return {};
}

// 1.1 fields; a 1.0 block has none of them.
inline Result check_v1_1(const BootInfo& info, std::span<const MemoryRegion> regions) {
    if (!info.has_v1_1()) return {};
    const bool newer_minor = info.header.version_minor > kBootInfoVersionMinor;
    if ((info.entropy_sources & ~kEntropySourcesKnown) != 0 && !newer_minor)
        return fail(Code::EntropySourceUnknown, "entropy_sources", info.entropy_sources, kEntropySourcesKnown);
    const std::uint32_t bytes = info.efi_memory_map.count;
    const std::uint32_t stride = info.efi_memory_descriptor_size;
    if (bytes != 0 && (stride < 40 || stride % 8 != 0 || bytes % stride != 0))
        return fail(Code::EfiMemoryMapMalformed, "efi_memory_map", bytes, stride);
    if (info.efi_system_table != 0 &&
        (info.efi_system_table % 8 != 0 ||
         !covered(regions, {info.efi_system_table, info.efi_system_table + 8}, true, MemoryRegionKind::Usable)))
        return fail(Code::EfiSystemTableMisplaced, "efi_system_table", info.efi_system_table);
    return {};
}

inline Result check_placed(PhysRange range, std::string_view field, std::span<const MemoryRegion> regions,
                           bool any_kind, MemoryRegionKind kind) {
    KMEM_TRY(check_order(range, field));
    if (range.empty()) return {};
    if (!covered(regions, range, true, kind)) return fail(Code::OutsideRam, field, range.begin, range.end);
    if (!any_kind && !covered(regions, {kmem::align_down(range.begin, kmem::kPageSize), range.end}, false, kind))
        return fail(Code::WrongRegionKind, field, range.begin, range.end);
    return {};
}

}  // namespace detail

// `available_bytes`: how many bytes are readable from &info (the block must
// not claim more). Checks run in the order of docs/protocol.md; the array
// checks come first so that no later check reads outside the block.
inline kmem::Expected<void, ValidationError> validate(const BootInfo& info, std::size_t available_bytes) {
    using detail::Code;
    if (available_bytes < sizeof(BootInfoHeader))
        return detail::fail(Code::TotalSizeBeyondAvailable, "header.total_size", sizeof(BootInfoHeader), available_bytes);
    KMEM_TRY(detail::check_header(info, available_bytes));
    const auto regions = info.regions();
    KMEM_TRY(detail::check_regions(regions, info.header.version_minor > kBootInfoVersionMinor));
    KMEM_TRY(detail::check_paging(info, regions));
    KMEM_TRY(detail::check_kernel(info, regions));
    KMEM_TRY(detail::check_harts(info));
    KMEM_TRY(detail::check_placed(info.kernel_file, "kernel_file", regions, true, MemoryRegionKind::Kernel));
    KMEM_TRY(detail::check_placed(info.device_tree, "device_tree", regions, false, MemoryRegionKind::Fdt));
    KMEM_TRY(detail::check_placed(info.initrd, "initrd", regions, false, MemoryRegionKind::Initrd));
    KMEM_TRY(detail::check_v1_1(info, regions));

    bool any_random = false;
    for (std::uint8_t byte : info.random) any_random |= byte != 0;
    if (!any_random) return detail::fail(Code::RandomAllZero, "random", 0);
    if (info.timebase_frequency == 0) return detail::fail(Code::TimebaseZero, "timebase_frequency", 0);
    const Timestamps& time = info.timestamps;
    if (time.handoff_time < time.loader_entry_time)
        return detail::fail(Code::TimestampsBackwards, "timestamps.handoff_time", time.handoff_time,
                            time.loader_entry_time);
    if (time.handoff_instret < time.loader_entry_instret)
        return detail::fail(Code::TimestampsBackwards, "timestamps.handoff_instret", time.handoff_instret,
                            time.loader_entry_instret);
    return {};
}

}  // namespace loader_api
