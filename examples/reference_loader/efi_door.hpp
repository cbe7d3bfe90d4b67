#pragma once
// What the EFI door computes from the firmware's data without calling the
// firmware: load options as text, file paths, and the memory map turned into
// reservations. Freestanding, so that host tests run it on hostile inputs
// (tests/loader/efi_door_test.cpp); efi_door.cpp makes the calls.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "efi.hpp"
#include "kmem/expected.hpp"
#include "loader_api/fdt.hpp"

namespace loader::efi {

// --- Text -------------------------------------------------------------------

// UTF-16 (little-endian, as the firmware stores it) to UTF-8, up to the first
// NUL or `size` bytes; a lone surrogate becomes U+FFFD, an odd last byte is
// ignored, and a character that does not fit whole in `capacity` ends the
// text. Returns the bytes written.
constexpr std::size_t utf8_from_utf16(const std::uint8_t* bytes, std::size_t size, char* out, std::size_t capacity) {
    std::size_t used = 0;
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        std::uint32_t c = bytes[i] | std::uint32_t{bytes[i + 1]} << 8;
        if (c == 0) break;
        if (c >= 0xd800 && c < 0xe000) {
            const bool paired = c < 0xdc00 && i + 3 < size &&
                                (bytes[i + 2] | std::uint32_t{bytes[i + 3]} << 8) >= 0xdc00 &&
                                (bytes[i + 2] | std::uint32_t{bytes[i + 3]} << 8) < 0xe000;
            if (paired) {
                c = 0x10000 + ((c - 0xd800) << 10) + ((bytes[i + 2] | std::uint32_t{bytes[i + 3]} << 8) - 0xdc00);
                i += 2;
            } else {
                c = 0xfffd;
            }
        }
        char encoded[4] = {};
        std::size_t length = 0;
        if (c < 0x80) {
            encoded[length++] = static_cast<char>(c);
        } else if (c < 0x800) {
            encoded[length++] = static_cast<char>(0xc0 | c >> 6);
            encoded[length++] = static_cast<char>(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            encoded[length++] = static_cast<char>(0xe0 | c >> 12);
            encoded[length++] = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            encoded[length++] = static_cast<char>(0x80 | (c & 0x3f));
        } else {
            encoded[length++] = static_cast<char>(0xf0 | c >> 18);
            encoded[length++] = static_cast<char>(0x80 | ((c >> 12) & 0x3f));
            encoded[length++] = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            encoded[length++] = static_cast<char>(0x80 | (c & 0x3f));
        }
        if (used + length > capacity) break;
        for (std::size_t k = 0; k < length; ++k) out[used++] = encoded[k];
    }
    return used;
}

// The load options as text: words separated by spaces; kernel=PATH and
// initrd=PATH name files (a later word wins), every other word goes to the
// command line, joined by single spaces.
struct LoadOptions {
    std::string_view kernel{};
    std::string_view initrd{};
    std::string_view command_line{};
};

// `command_line` needs at most text.size() bytes.
constexpr LoadOptions parse_load_options(std::string_view text, char* command_line) {
    LoadOptions options;
    std::size_t used = 0;
    for (std::size_t begin = 0; begin < text.size();) {
        std::size_t end = text.find(' ', begin);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(begin, end - begin);
        begin = end + 1;
        if (word.empty()) continue;
        if (word.starts_with("kernel=")) {
            options.kernel = word.substr(7);
        } else if (word.starts_with("initrd=")) {
            options.initrd = word.substr(7);
        } else {
            if (used > 0) command_line[used++] = ' ';
            for (const char c : word) command_line[used++] = c;
        }
    }
    options.command_line = {command_line, used};
    return options;
}

// --- Paths on the loader's volume --------------------------------------------

inline constexpr std::size_t kPathLength = 256;

// A file path as UEFI wants it: UTF-16, '\' between the parts ('/' becomes
// '\'), NUL-ended. A path that does not fit is marked too_long, not cut.
struct Path {
    char16_t text[kPathLength] = {};
    std::size_t length = 0;
    bool too_long = false;

    constexpr void append(char16_t c) {
        if (length + 1 >= kPathLength) {
            too_long = true;
            return;
        }
        text[length++] = c == u'/' ? u'\\' : c;
        text[length] = 0;
    }
    constexpr bool ends_with_separator() const { return length > 0 && text[length - 1] == u'\\'; }
};

// The directory of the file a device path names ("\EFI\BOOT\" for
// "\EFI\BOOT\BOOTRISCV64.EFI"): the text of its file-path nodes (one or
// several, concatenated) up to the last '\'; "\" when it has none. Device
// paths are byte-packed, so the UTF-16 text may be unaligned; a node shorter
// than its header ends the walk, and `limit` bytes bound it.
constexpr Path loader_directory(const std::uint8_t* device_path, std::size_t limit = 4096) {
    Path path;
    path.append(u'\\');
    std::size_t offset = 0;
    while (device_path != nullptr && offset + sizeof(DevicePathNode) <= limit) {
        const std::uint8_t* node = device_path + offset;
        const std::size_t length = node[2] | std::size_t{node[3]} << 8;
        if (node[0] == kDevicePathEnd || length < sizeof(DevicePathNode) || offset + length > limit) break;
        if (node[0] == kDevicePathMedia && node[1] == kDevicePathMediaFilePath) {
            for (std::size_t at = sizeof(DevicePathNode); at + 1 < length; at += 2) {
                const auto c = static_cast<char16_t>(node[at] | node[at + 1] << 8);
                if (c == 0) break;
                if ((c == u'\\' || c == u'/') && path.ends_with_separator()) continue;
                path.append(c);
            }
        }
        offset += length;
    }
    while (!path.ends_with_separator()) path.text[--path.length] = 0;
    path.too_long = false;  // the directory part always fit
    return path;
}

// `name` (UTF-8 from the load options; only ASCII is meaningful on FAT)
// relative to `directory` unless it starts with '\' or '/'.
constexpr Path resolve(const Path& directory, std::string_view name) {
    Path path;
    if (name.empty() || (name[0] != '\\' && name[0] != '/')) path = directory;
    for (const char c : name) path.append(static_cast<char16_t>(static_cast<unsigned char>(c)));
    return path;
}

// --- The memory map ----------------------------------------------------------

constexpr std::string_view memory_type_name(MemoryType type) {
    switch (type) {
        case MemoryType::Reserved: return "EFI reserved";
        case MemoryType::LoaderCode: return "EFI loader code";
        case MemoryType::LoaderData: return "EFI loader data";
        case MemoryType::BootServicesCode: return "EFI boot services code";
        case MemoryType::BootServicesData: return "EFI boot services data";
        case MemoryType::RuntimeServicesCode: return "EFI runtime services code";
        case MemoryType::RuntimeServicesData: return "EFI runtime services data";
        case MemoryType::Conventional: return "EFI conventional";
        case MemoryType::Unusable: return "EFI unusable";
        case MemoryType::AcpiReclaim: return "EFI ACPI reclaim";
        case MemoryType::AcpiNvs: return "EFI ACPI NVS";
        case MemoryType::MemoryMappedIo: return "EFI MMIO";
        case MemoryType::MemoryMappedIoPortSpace: return "EFI MMIO port space";
        case MemoryType::PalCode: return "EFI PAL code";
        case MemoryType::Persistent: return "EFI persistent";
        case MemoryType::Unaccepted: return "EFI unaccepted";
    }
    return "EFI unknown type";
}

// What is free once boot services end (UEFI 2.10, table 7.10); every other
// type, and any type the specification may add, stays out of the kernel's reach.
constexpr bool free_after_exit(MemoryType type) {
    switch (type) {
        case MemoryType::LoaderCode:
        case MemoryType::LoaderData:
        case MemoryType::BootServicesCode:
        case MemoryType::BootServicesData:
        case MemoryType::Conventional: return true;
        default: return false;
    }
}

// GetMemoryMap's result: descriptors of descriptor_size bytes (at least
// sizeof(MemoryDescriptor); firmware may use more), read byte-wise.
struct MemoryMapView {
    const std::byte* bytes = nullptr;
    std::uint64_t size = 0;
    std::uint64_t descriptor_size = 0;
    std::uint32_t descriptor_version = 0;

    constexpr std::size_t count() const {
        return descriptor_size < sizeof(MemoryDescriptor) ? 0 : size / descriptor_size;
    }
    MemoryDescriptor operator[](std::size_t i) const {
        MemoryDescriptor descriptor{};
        __builtin_memcpy(&descriptor, bytes + i * descriptor_size, sizeof(descriptor));
        return descriptor;
    }
};

struct KeepError {
    enum class Code : std::uint8_t { kWraps, kCapacity } code = Code::kWraps;
    std::size_t descriptor = 0;
    MemoryType type = MemoryType::Reserved;
};

// The firmware's claims become reservations of the machine
// (ReservationSource::kFirmwareMemoryMap, `node` naming the type): a runtime
// region, ACPI table or MMIO window is never Usable, whatever the tree says,
// and what the tree reserves stays reserved too. Adjacent descriptors of one
// type are merged. The pages of `device_tree` (which U-Boot allocates as
// EfiACPIReclaimMemory) are the tree's, reported as Fdt; the rest of such a
// descriptor stays reserved. Returns how many reservations were added.
inline kmem::Expected<std::size_t, KeepError> keep_firmware_memory(const MemoryMapView& map,
                                                                   kmem::PhysicalRange device_tree,
                                                                   loader_api::fdt::BasicMachineInfo& machine) {
    namespace fdt = loader_api::fdt;
    std::size_t kept = 0;
    const auto keep = [&](std::uint64_t begin, std::uint64_t end, MemoryType type) -> bool {
        if (begin >= end) return true;
        const kmem::PhysicalRange range{kmem::PhysicalAddress(begin), kmem::PhysicalAddress(end)};
        const std::string_view name = memory_type_name(type);
        if (kept > 0) {
            fdt::ReservedRange& last = machine.reserved.back();
            if (last.node == name && last.range.end() == range.begin()) {
                last.range = {last.range.begin(), range.end()};
                return true;
            }
        }
        const fdt::ReservationSource source = type == MemoryType::RuntimeServicesCode ? fdt::ReservationSource::kFirmwareRuntimeCode
                                              : type == MemoryType::RuntimeServicesData
                                                  ? fdt::ReservationSource::kFirmwareRuntimeData
                                                  : fdt::ReservationSource::kFirmwareMemoryMap;
        if (!machine.reserved.push({range, source, type == MemoryType::MemoryMappedIo, name}))
            return false;
        ++kept;
        return true;
    };
    const std::uint64_t tree_begin = kmem::align_down(device_tree.begin().value(), kmem::kPageSize);
    const std::uint64_t tree_end =
        device_tree.empty() ? tree_begin : kmem::align_down(device_tree.end().value() + kmem::kPageSize - 1, kmem::kPageSize);
    for (std::size_t i = 0; i < map.count(); ++i) {
        const MemoryDescriptor descriptor = map[i];
        if (free_after_exit(descriptor.type) || descriptor.number_of_pages == 0) continue;
        const auto range = kmem::PhysicalRange::from_size(kmem::PhysicalAddress(descriptor.physical_start),
                                                          descriptor.number_of_pages * kmem::kPageSize);
        if (!range || descriptor.number_of_pages > (~std::uint64_t{0} >> 12))
            return kmem::unexpected(KeepError{KeepError::Code::kWraps, i, descriptor.type});
        const std::uint64_t begin = range->begin().value(), end = range->end().value();
        bool ok = true;
        if (descriptor.type == MemoryType::AcpiReclaim && begin < tree_end && tree_begin < end) {
            ok = keep(begin, std::max(begin, tree_begin), descriptor.type) &&
                 keep(std::min(end, tree_end), end, descriptor.type);
        } else {
            ok = keep(begin, end, descriptor.type);
        }
        if (!ok) return kmem::unexpected(KeepError{KeepError::Code::kCapacity, i, descriptor.type});
    }
    return kept;
}

}  // namespace loader::efi
