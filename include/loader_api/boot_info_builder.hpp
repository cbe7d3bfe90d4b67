#pragma once
// Lays a BootInfo out in a caller-provided buffer (the planner's BootInfo
// frames, or a host test's array): the fixed part, then the hart table, the
// memory map, the kernel segments and the command line, each at the offset
// its capacity reserves. No heap; running out of room is an error value.

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>

#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "loader_api/boot_info.hpp"

namespace loader_api {

struct BootInfoCapacity {
    std::uint32_t harts = 0;
    std::uint32_t regions = 0;
    std::uint32_t segments = 0;
    std::uint32_t command_line = 0;  // bytes, without the terminating NUL
    std::uint32_t efi_memory_map = 0;  // bytes (1.1)
};

struct BuildError {
    enum class Code : std::uint8_t {
        BufferTooSmall,      // needed / available: bytes
        BufferMisaligned,    // needed: alignment, available: the buffer's address
        TooLarge,            // needed: bytes; total_size is 32-bit
        TooManyHarts,        // needed / available: entries
        DuplicateHart,       // needed: the hart id
        TooManyRegions,
        RegionOutOfOrder,    // needed: the new region's begin, available: the previous region's end
        TooManySegments,
        CommandLineTooLong,  // needed / available: bytes
        EfiMemoryMapTooLarge,  // needed / available: bytes
    };
    Code code = Code::BufferTooSmall;
    std::uint64_t needed = 0;
    std::uint64_t available = 0;

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "boot info builder: ");
        switch (code) {
            case Code::BufferTooSmall: kmem::write(sink, "buffer too small: need "); break;
            case Code::BufferMisaligned: kmem::write(sink, "buffer not aligned to "); break;
            case Code::TooLarge: kmem::write(sink, "block larger than 4 GiB: "); break;
            case Code::TooManyHarts: kmem::write(sink, "hart table full: entry "); break;
            case Code::DuplicateHart: kmem::write(sink, "hart listed twice: id "); break;
            case Code::TooManyRegions: kmem::write(sink, "memory map full: entry "); break;
            case Code::RegionOutOfOrder: kmem::write(sink, "region out of order: begins at "); break;
            case Code::TooManySegments: kmem::write(sink, "kernel segment table full: entry "); break;
            case Code::CommandLineTooLong: kmem::write(sink, "command line too long: "); break;
            case Code::EfiMemoryMapTooLarge: kmem::write(sink, "EFI memory map too large: "); break;
        }
        kmem::print(sink, kmem::hex(needed));
        switch (code) {
            case Code::BufferMisaligned: kmem::write(sink, ", buffer at "); break;
            case Code::RegionOutOfOrder: kmem::write(sink, ", previous ends at "); break;
            case Code::TooLarge:
            case Code::DuplicateHart: return;
            default: kmem::write(sink, ", capacity "); break;
        }
        kmem::print(sink, kmem::hex(available));
    }
};

namespace detail {
constexpr std::uint64_t round_up_8(std::uint64_t value) { return (value + 7) & ~std::uint64_t{7}; }

struct BootInfoOffsets {
    std::uint64_t harts, regions, segments, efi_memory_map, command_line, total;
};
constexpr BootInfoOffsets offsets_for(const BootInfoCapacity& capacity) {
    BootInfoOffsets offsets{};
    offsets.harts = sizeof(BootInfo);
    offsets.regions = offsets.harts + std::uint64_t{capacity.harts} * sizeof(HartInfo);
    offsets.segments = offsets.regions + std::uint64_t{capacity.regions} * sizeof(MemoryRegion);
    offsets.efi_memory_map = offsets.segments + std::uint64_t{capacity.segments} * sizeof(KernelSegment);
    offsets.command_line = round_up_8(offsets.efi_memory_map + capacity.efi_memory_map);
    offsets.total = round_up_8(offsets.command_line + capacity.command_line + 1);
    return offsets;
}
}  // namespace detail

// Bytes a block with these capacities occupies (a multiple of 8).
constexpr std::uint64_t required_size(const BootInfoCapacity& capacity) {
    return detail::offsets_for(capacity).total;
}
constexpr std::uint64_t required_size(std::uint32_t hart_count, std::uint32_t region_count,
                                      std::uint32_t command_line_length, std::uint32_t segment_count = 16) {
    return required_size(BootInfoCapacity{hart_count, region_count, segment_count, command_line_length});
}

class BootInfoBuilder {
public:
    // Empty, only so that Expected can hold a builder; use create().
    BootInfoBuilder() = default;

    // The header (magic, version, total_size, fingerprint) is written here;
    // every other fixed field starts zeroed for the caller to fill in info().
    static kmem::Expected<BootInfoBuilder, BuildError> create(std::span<std::byte> buffer,
                                                             const BootInfoCapacity& capacity) {
        const auto offsets = detail::offsets_for(capacity);
        const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
        if (address % alignof(BootInfo) != 0)
            return kmem::unexpected(BuildError{BuildError::Code::BufferMisaligned, alignof(BootInfo), address});
        if (offsets.total > 0xffffffffu) return kmem::unexpected(BuildError{BuildError::Code::TooLarge, offsets.total, 0});
        if (offsets.total > buffer.size())
            return kmem::unexpected(BuildError{BuildError::Code::BufferTooSmall, offsets.total, buffer.size()});

        std::byte* base = buffer.data();
        // memset, not a loop over std::byte: GCC makes no memset of that
        // loop, and stores a byte per 3 instructions on RISC-V.
        __builtin_memset(base, 0, offsets.total);
        BootInfoBuilder builder;
        builder.capacity_ = capacity;
        builder.info_ = new (base) BootInfo{};
        builder.info_->header.total_size = static_cast<std::uint32_t>(offsets.total);
        builder.info_->harts = {static_cast<std::uint32_t>(offsets.harts), 0};
        builder.info_->memory_regions = {static_cast<std::uint32_t>(offsets.regions), 0};
        builder.info_->kernel_segments = {static_cast<std::uint32_t>(offsets.segments), 0};
        builder.info_->command_line = {static_cast<std::uint32_t>(offsets.command_line), 0};
        builder.info_->efi_memory_map = {static_cast<std::uint32_t>(offsets.efi_memory_map), 0};
        builder.harts_ = construct<HartInfo>(base + offsets.harts, capacity.harts);
        builder.regions_ = construct<MemoryRegion>(base + offsets.regions, capacity.regions);
        builder.segments_ = construct<KernelSegment>(base + offsets.segments, capacity.segments);
        builder.command_line_ = reinterpret_cast<char*>(base + offsets.command_line);
        builder.efi_memory_map_ = base + offsets.efi_memory_map;
        return builder;
    }

    // The fixed fields. The array references are the builder's: set them
    // through the add_ functions below.
    BootInfo& info() { return *info_; }
    const BootInfo& info() const { return *info_; }

    // Keeps the table sorted by hart id, whatever the order of the calls.
    kmem::Expected<void, BuildError> add_hart(const HartInfo& hart) {
        std::uint32_t& count = info_->harts.count;
        if (count == capacity_.harts)
            return kmem::unexpected(BuildError{BuildError::Code::TooManyHarts, count + 1ull, capacity_.harts});
        std::uint32_t position = count;
        while (position > 0 && harts_[position - 1].hart_id > hart.hart_id) {
            harts_[position] = harts_[position - 1];
            --position;
        }
        if (position > 0 && harts_[position - 1].hart_id == hart.hart_id) {
            for (std::uint32_t i = position; i < count; ++i) harts_[i] = harts_[i + 1];  // undo the shift
            return kmem::unexpected(BuildError{BuildError::Code::DuplicateHart, hart.hart_id, 0});
        }
        harts_[position] = hart;
        ++count;
        return {};
    }

    // Regions come in address order; one that continues the previous region
    // with the same kind extends it, so the map stays merged.
    kmem::Expected<void, BuildError> add_region(const MemoryRegion& region) {
        std::uint32_t& count = info_->memory_regions.count;
        if (count > 0) {
            MemoryRegion& last = regions_[count - 1];
            if (region.range.begin < last.range.end)
                return kmem::unexpected(
                    BuildError{BuildError::Code::RegionOutOfOrder, region.range.begin, last.range.end});
            if (region.range.begin == last.range.end && region.kind == last.kind) {
                last.range.end = region.range.end;
                return {};
            }
        }
        if (count == capacity_.regions)
            return kmem::unexpected(BuildError{BuildError::Code::TooManyRegions, count + 1ull, capacity_.regions});
        regions_[count++] = region;
        return {};
    }

    kmem::Expected<void, BuildError> add_segment(const KernelSegment& segment) {
        std::uint32_t& count = info_->kernel_segments.count;
        if (count == capacity_.segments)
            return kmem::unexpected(BuildError{BuildError::Code::TooManySegments, count + 1ull, capacity_.segments});
        segments_[count++] = segment;
        return {};
    }

    kmem::Expected<void, BuildError> set_command_line(std::string_view text) {
        if (text.size() > capacity_.command_line)
            return kmem::unexpected(BuildError{BuildError::Code::CommandLineTooLong, text.size(), capacity_.command_line});
        if (!text.empty()) __builtin_memcpy(command_line_, text.data(), text.size());
        command_line_[text.size()] = '\0';
        info_->command_line.count = static_cast<std::uint32_t>(text.size());
        return {};
    }

    // The descriptors as GetMemoryMap returned them, copied byte for byte.
    kmem::Expected<void, BuildError> set_efi_memory_map(std::span<const std::byte> map, std::uint32_t descriptor_size,
                                                        std::uint32_t descriptor_version) {
        if (map.size() > capacity_.efi_memory_map)
            return kmem::unexpected(BuildError{BuildError::Code::EfiMemoryMapTooLarge, map.size(), capacity_.efi_memory_map});
        // A byte loop here was 4,200 instructions for a 15-descriptor map (the
        // loader builds without loop-to-memcpy distribution).
        if (!map.empty()) __builtin_memcpy(efi_memory_map_, map.data(), map.size());
        info_->efi_memory_map.count = static_cast<std::uint32_t>(map.size());
        info_->efi_memory_descriptor_size = descriptor_size;
        info_->efi_memory_descriptor_version = descriptor_version;
        return {};
    }

private:
    template <class T>
    static T* construct(std::byte* where, std::uint32_t count) {
        T* first = reinterpret_cast<T*>(where);
        for (std::uint32_t i = 0; i < count; ++i) new (where + i * sizeof(T)) T{};
        return first;
    }

    BootInfoCapacity capacity_{};
    BootInfo* info_ = nullptr;
    HartInfo* harts_ = nullptr;
    MemoryRegion* regions_ = nullptr;
    KernelSegment* segments_ = nullptr;
    char* command_line_ = nullptr;
    std::byte* efi_memory_map_ = nullptr;
};

}  // namespace loader_api
