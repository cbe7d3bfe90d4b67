// The EFI door: the loader started as an EFI application (BOOTRISCV64.EFI).
// It finds what the other doors get in registers (the device tree, the boot
// hart), takes the firmware's memory map, leaves boot services, and then
// boots exactly as the other doors do; no EFI call is made after
// ExitBootServices.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "boot.hpp"
#include "console.hpp"
#include "efi.hpp"
#include "platform.hpp"

namespace loader {
namespace {

namespace fdt = loader_api::fdt;

// The kernel a loader without one of its own reads when the load options
// name none: beside the loader (docs: "Booting through UEFI").
constexpr std::string_view kDefaultKernelFile = "kernel.elf";

efi::SimpleTextOutputProtocol* firmware_text() { return static_cast<efi::SimpleTextOutputProtocol*>(firmware_console); }

// instret spent inside the firmware's services (figures in
// docs/performance.md; under -icount it counts instructions).
std::uint64_t firmware_instret = 0;

template <class Call>
efi::Status firmware(Call&& call) {
    const std::uint64_t before = read_timestamp().instret;
    const efi::Status status = call();
    firmware_instret += read_timestamp().instret - before;
    return status;
}

// GetMemoryMap fills a buffer the loader owns: allocating one would change
// the very map (and key) it is about to report. This and the other buffers
// of the door are written before they are read, and only on this path:
// not cleared with .bss, which every other boot would pay for.
constexpr std::size_t kMemoryMapBytes = 64 * 1024;
LOADER_NOCLEAR alignas(8) std::byte memory_map[kMemoryMapBytes];

struct MemoryMap {
    std::uint64_t size = 0;
    std::uint64_t descriptor_size = 0;

    std::size_t count() const { return descriptor_size == 0 ? 0 : size / descriptor_size; }
    const efi::MemoryDescriptor& operator[](std::size_t i) const {
        return *reinterpret_cast<const efi::MemoryDescriptor*>(memory_map + i * descriptor_size);
    }
};

std::string_view memory_type_name(efi::MemoryType type) {
    switch (type) {
        case efi::MemoryType::Reserved: return "EFI reserved";
        case efi::MemoryType::LoaderCode: return "EFI loader code";
        case efi::MemoryType::LoaderData: return "EFI loader data";
        case efi::MemoryType::BootServicesCode: return "EFI boot services code";
        case efi::MemoryType::BootServicesData: return "EFI boot services data";
        case efi::MemoryType::RuntimeServicesCode: return "EFI runtime services code";
        case efi::MemoryType::RuntimeServicesData: return "EFI runtime services data";
        case efi::MemoryType::Conventional: return "EFI conventional";
        case efi::MemoryType::Unusable: return "EFI unusable";
        case efi::MemoryType::AcpiReclaim: return "EFI ACPI reclaim";
        case efi::MemoryType::AcpiNvs: return "EFI ACPI NVS";
        case efi::MemoryType::MemoryMappedIo: return "EFI MMIO";
        case efi::MemoryType::MemoryMappedIoPortSpace: return "EFI MMIO port space";
        case efi::MemoryType::PalCode: return "EFI PAL code";
        case efi::MemoryType::Persistent: return "EFI persistent";
        case efi::MemoryType::Unaccepted: return "EFI unaccepted";
    }
    return "EFI unknown type";
}

// What is free once boot services end (UEFI 2.10, table 7.10); every other
// type, and any type the specification may add, stays out of the kernel's reach.
bool free_after_exit(efi::MemoryType type) {
    switch (type) {
        case efi::MemoryType::LoaderCode:
        case efi::MemoryType::LoaderData:
        case efi::MemoryType::BootServicesCode:
        case efi::MemoryType::BootServicesData:
        case efi::MemoryType::Conventional: return true;
        default: return false;
    }
}

void write_status(Console& out, efi::Status status) {
    kmem::write_hex(out, status);
    if (status == efi::kInvalidParameter) kmem::write(out, " (EFI_INVALID_PARAMETER)");
    if (status == efi::kBufferTooSmall) kmem::write(out, " (EFI_BUFFER_TOO_SMALL)");
    if (status == efi::kNotFound) kmem::write(out, " (EFI_NOT_FOUND)");
}

const std::uint8_t* find_device_tree(const efi::SystemTable& system) {
    for (std::uint64_t i = 0; i < system.number_of_table_entries; ++i)
        if (system.configuration_table[i].vendor_guid == efi::kDeviceTreeTableGuid)
            return static_cast<const std::uint8_t*>(system.configuration_table[i].vendor_table);
    fail("EFI: the configuration table has no device tree (EFI_DTB_TABLE_GUID b1b621d5-f19c-41a5-830b-d9152c69aae0)");
}

struct BootHart {
    std::uint64_t id = 0;
    std::string_view source{};
};

// RISCV_EFI_BOOT_PROTOCOL first; the device tree's /chosen/boot-hartid
// (which U-Boot also writes) when the firmware has no such protocol.
BootHart find_boot_hart(efi::BootServices& services, const fdt::MachineInfo& machine) {
    void* interface = nullptr;
    if (firmware([&] { return services.locate_protocol(&efi::kRiscvBootProtocolGuid, nullptr, &interface); }) ==
            efi::kSuccess &&
        interface != nullptr) {
        auto* protocol = static_cast<efi::RiscvBootProtocol*>(interface);
        std::uint64_t id = 0;
        const efi::Status status = firmware([&] { return protocol->get_boot_hart_id(protocol, &id); });
        if (status == efi::kSuccess) return {id, "RISCV_EFI_BOOT_PROTOCOL"};
        fail_with([&](Console& out) {
            kmem::write(out, "EFI: RISCV_EFI_BOOT_PROTOCOL.GetBootHartId failed: status ");
            write_status(out, status);
        });
    }
    if (machine.chosen.has_boot_hartid) return {machine.chosen.boot_hartid, "/chosen/boot-hartid"};
    fail("EFI: no boot hart id: the firmware has no RISCV_EFI_BOOT_PROTOCOL (ccd15fec-6f73-4eec-8395-3e69e4b940bf) "
         "and the device tree no /chosen/boot-hartid");
}

// GetMemoryMap, then ExitBootServices with its key; the key goes stale when
// anything allocates in between (the firmware itself may), and then the
// specification asks for the map again (UEFI 2.10, 7.4.6).
MemoryMap exit_boot_services(efi::Handle image, efi::BootServices& services) {
    constexpr int kAttempts = 4;
    efi::Status status = 0;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        MemoryMap map;
        map.size = kMemoryMapBytes;
        std::uint64_t key = 0;
        std::uint32_t version = 0;
        status = firmware([&] {
            return services.get_memory_map(&map.size, reinterpret_cast<efi::MemoryDescriptor*>(memory_map), &key,
                                           &map.descriptor_size, &version);
        });
        if (status != efi::kSuccess)
            fail_with([&](Console& out) {
                kmem::write(out, "EFI: GetMemoryMap failed: status ");
                write_status(out, status);
                kmem::write(out, "; the loader's buffer holds ");
                kmem::write_size(out, kMemoryMapBytes);
                kmem::write(out, ", the map needs ");
                kmem::write_size(out, map.size);
            });
        if (map.descriptor_size < sizeof(efi::MemoryDescriptor))
            fail_with([&](Console& out) {
                kmem::write(out, "EFI: GetMemoryMap reports descriptors of ");
                kmem::write_dec(out, map.descriptor_size);
                kmem::write(out, " bytes, fewer than the 40 of EFI_MEMORY_DESCRIPTOR");
            });
        status = firmware([&] { return services.exit_boot_services(image, key); });
        if (status == efi::kSuccess) return map;
        if (status != efi::kInvalidParameter) break;
    }
    fail_with([&](Console& out) {
        kmem::write(out, "EFI: ExitBootServices failed: status ");
        write_status(out, status);
    });
}

// The firmware's claims become reservations of the machine: a runtime
// region, ACPI table or MMIO window is never Usable, whatever the device
// tree says (and what the tree reserves stays reserved too).
void keep_from_kernel(fdt::MachineInfo& machine, kmem::PhysicalRange range, efi::MemoryType type, std::size_t& kept) {
    if (range.empty()) return;
    const std::string_view name = memory_type_name(type);
    if (kept > 0) {
        fdt::ReservedRange& last = machine.reserved.back();
        if (last.node == name && last.range.end() == range.begin()) {
            last.range = {last.range.begin(), range.end()};
            return;
        }
    }
    if (!machine.reserved.push({range, fdt::ReservationSource::kFirmwareMemoryMap,
                                type == efi::MemoryType::MemoryMappedIo, name}))
        fail_with([&](Console& out) {
            kmem::write(out, "EFI: the memory map keeps more ranges from the kernel than the loader holds (");
            kmem::write_dec(out, fdt::kMaxReservedRanges);
            kmem::write(out, " with the device tree's)");
        });
    ++kept;
}

// The firmware's claims become reservations of the machine: a runtime
// region, ACPI table or MMIO window is never Usable, whatever the device
// tree says (and what the tree reserves stays reserved too). The pages of
// the device tree the firmware passes (U-Boot allocates it as
// EfiACPIReclaimMemory) are the tree's, reported as Fdt; the rest of such a
// descriptor stays reserved.
void reserve_firmware_memory(const MemoryMap& map, kmem::PhysicalRange device_tree, fdt::MachineInfo& machine,
                             std::size_t& kept) {
    kept = 0;
    const std::uint64_t tree_begin = kmem::align_down(device_tree.begin().value(), kmem::kPageSize);
    const std::uint64_t tree_end = kmem::align_down(device_tree.end().value() + kmem::kPageSize - 1, kmem::kPageSize);
    for (std::size_t i = 0; i < map.count(); ++i) {
        const efi::MemoryDescriptor& descriptor = map[i];
        if (free_after_exit(descriptor.type) || descriptor.number_of_pages == 0) continue;
        const auto range = kmem::PhysicalRange::from_size(kmem::PhysicalAddress(descriptor.physical_start),
                                                          descriptor.number_of_pages * kmem::kPageSize);
        if (!range)
            fail_with([&](Console& out) {
                kmem::write(out, "EFI: memory map descriptor ");
                kmem::write_dec(out, i);
                kmem::write(out, " (");
                kmem::write(out, memory_type_name(descriptor.type));
                kmem::write(out, ") wraps around the address space");
            });
        const std::uint64_t begin = range->begin().value(), end = range->end().value();
        if (descriptor.type == efi::MemoryType::AcpiReclaim && begin < tree_end && tree_begin < end) {
            const auto at = [](std::uint64_t value) { return kmem::PhysicalAddress(value); };
            keep_from_kernel(machine, {at(begin), at(std::max(begin, tree_begin))}, descriptor.type, kept);
            keep_from_kernel(machine, {at(std::min(end, tree_end)), at(end)}, descriptor.type, kept);
            continue;
        }
        keep_from_kernel(machine, *range, descriptor.type, kept);
    }
}

// --- Files on the loader's own volume, named by the load options ---------------

constexpr std::size_t kPathLength = 256;
constexpr std::size_t kLoadOptionsBytes = 4096;

// A file path as UEFI wants it: UTF-16, '\' between the parts, NUL-ended.
struct Path {
    char16_t text[kPathLength] = {};
    std::size_t length = 0;

    bool append(char16_t c) {
        if (length + 1 >= kPathLength) return false;
        text[length++] = c == u'/' ? u'\\' : c;
        text[length] = 0;
        return true;
    }
};

template <class S>
void write_path(S& out, const Path& path) {
    for (std::size_t i = 0; i < path.length; ++i) out.put(path.text[i] < 0x80 ? static_cast<char>(path.text[i]) : '?');
}

// The directory the loader was loaded from ("\EFI\BOOT\"), from the
// file-path nodes of its device path: where relative names are looked up.
Path loader_directory(const efi::LoadedImageProtocol& image) {
    Path path;
    path.append(u'\\');
    const auto* node = static_cast<const std::uint8_t*>(image.file_path);
    for (int nodes = 0; node != nullptr && nodes < 64; ++nodes) {
        const auto& header = *reinterpret_cast<const efi::DevicePathNode*>(node);
        const std::size_t length = header.length[0] | std::size_t{header.length[1]} << 8;
        if (header.type == efi::kDevicePathEnd || length < sizeof(efi::DevicePathNode)) break;
        if (header.type == efi::kDevicePathMedia && header.subtype == efi::kDevicePathMediaFilePath) {
            // Device paths are byte-packed: the UTF-16 text may be unaligned.
            for (std::size_t at = sizeof(efi::DevicePathNode); at + 1 < length; at += 2) {
                const auto c = static_cast<char16_t>(node[at] | node[at + 1] << 8);
                if (c == 0) break;
                if (c == u'\\' && path.length > 0 && path.text[path.length - 1] == u'\\') continue;
                if (!path.append(c)) break;
            }
        }
        node += length;
    }
    while (path.text[path.length - 1] != u'\\') path.text[--path.length] = 0;
    return path;
}

// `name` (UTF-8, from the load options) relative to the loader's directory
// unless it starts with '\' or '/'.
Path resolve(const Path& directory, std::string_view name) {
    Path path;
    if (name.empty() || (name[0] != '\\' && name[0] != '/')) path = directory;
    for (const char c : name)
        if (!path.append(static_cast<char16_t>(static_cast<unsigned char>(c)))) break;
    return path;
}

efi::FileProtocol& open_volume(efi::BootServices& services, const efi::LoadedImageProtocol& image) {
    void* interface = nullptr;
    efi::Status status = firmware(
        [&] { return services.handle_protocol(image.device_handle, &efi::kSimpleFileSystemProtocolGuid, &interface); });
    efi::FileProtocol* root = nullptr;
    if (status == efi::kSuccess) {
        auto* file_system = static_cast<efi::SimpleFileSystemProtocol*>(interface);
        status = firmware([&] { return file_system->open_volume(file_system, &root); });
    }
    if (status != efi::kSuccess || root == nullptr)
        fail_with([&](Console& out) {
            kmem::write(out, "EFI: cannot open the volume the loader was loaded from (EFI_SIMPLE_FILE_SYSTEM_PROTOCOL): status ");
            write_status(out, status);
        });
    return *root;
}

// The whole file in pages of EfiLoaderData, which the plan then treats as
// any other input (the kernel file, the initrd): nothing is placed over it.
kmem::PhysicalRange load_file(efi::BootServices& services, efi::FileProtocol& root, const Path& path,
                              std::string_view what) {
    // "EFI: kernel "\EFI\BOOT\kernel.elf": "
    const auto subject = [&](Console& out) {
        kmem::write(out, "EFI: ");
        kmem::write(out, what);
        kmem::write(out, " \"");
        write_path(out, path);
        kmem::write(out, "\": ");
    };
    const auto failed = [&](std::string_view step, efi::Status status) {
        fail_with([&](Console& out) {
            subject(out);
            kmem::write(out, step);
            kmem::write(out, " failed: status ");
            write_status(out, status);
        });
    };
    efi::FileProtocol* file = nullptr;
    efi::Status status = firmware([&] { return root.open(&root, &file, path.text, efi::kFileModeRead, 0); });
    if (status != efi::kSuccess) failed("open", status);
    alignas(8) std::byte info[512];
    std::uint64_t info_size = sizeof(info);
    status = firmware([&] { return file->get_info(file, &efi::kFileInfoGuid, &info_size, info); });
    if (status != efi::kSuccess) failed("GetInfo", status);
    const std::uint64_t size = reinterpret_cast<const efi::FileInfoHead*>(info)->file_size;
    std::uint64_t address = 0;
    status = firmware([&] {
        return services.allocate_pages(efi::AllocateType::AnyPages, efi::MemoryType::LoaderData,
                                       (size + kmem::kPageSize - 1) / kmem::kPageSize + (size == 0), &address);
    });
    if (status != efi::kSuccess) failed("AllocatePages", status);
    std::uint64_t read = size;
    status = firmware([&] { return file->read(file, &read, reinterpret_cast<void*>(address)); });
    if (status != efi::kSuccess) failed("Read", status);
    if (read != size)
        fail_with([&](Console& out) {
            subject(out);
            kmem::write(out, "read ");
            kmem::write_dec(out, read);
            kmem::write(out, " of its ");
            kmem::write_dec(out, size);
            kmem::write(out, " bytes");
        });
    firmware([&] { return file->close(file); });
    return {kmem::PhysicalAddress(address), kmem::PhysicalAddress(address + size)};
}

// The load options as text: the words kernel=PATH and initrd=PATH name
// files, the other words (joined by single spaces) are the command line.
struct LoadOptions {
    bool given = false;
    std::string_view kernel{};
    std::string_view initrd{};
    std::string_view command_line{};
};

LOADER_NOCLEAR char load_options_text[kLoadOptionsBytes];
LOADER_NOCLEAR char command_line_text[kLoadOptionsBytes];

// UTF-16 (the firmware's) to UTF-8, up to the first NUL.
std::size_t utf8_from_utf16(const std::uint8_t* bytes, std::size_t size, char* out, std::size_t capacity) {
    std::size_t used = 0;
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        std::uint32_t c = bytes[i] | std::uint32_t{bytes[i + 1]} << 8;
        if (c == 0) break;
        if (c >= 0xd800 && c < 0xdc00 && i + 3 < size) {
            const std::uint32_t low = bytes[i + 2] | std::uint32_t{bytes[i + 3]} << 8;
            if (low >= 0xdc00 && low < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                i += 2;
            }
        }
        char encoded[4];
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

LoadOptions read_load_options(const efi::LoadedImageProtocol& image) {
    LoadOptions options;
    if (image.load_options == nullptr || image.load_options_size < 2) return options;
    const std::size_t length = utf8_from_utf16(static_cast<const std::uint8_t*>(image.load_options),
                                               image.load_options_size, load_options_text, kLoadOptionsBytes);
    options.given = true;
    const std::string_view text(load_options_text, length);
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
            if (used > 0) command_line_text[used++] = ' ';
            for (const char c : word) command_line_text[used++] = c;
        }
    }
    options.command_line = {command_line_text, used};
    return options;
}

// EFI_RNG_PROTOCOL's bytes, for a tree without rng-seed.
LOADER_NOCLEAR std::uint8_t firmware_entropy[32];

std::span<const std::uint8_t> rng_protocol_entropy(efi::BootServices& services) {
    void* interface = nullptr;
    if (firmware([&] { return services.locate_protocol(&efi::kRngProtocolGuid, nullptr, &interface); }) !=
            efi::kSuccess ||
        interface == nullptr)
        return {};
    auto* rng = static_cast<efi::RngProtocol*>(interface);
    if (firmware([&] { return rng->get_rng(rng, nullptr, sizeof(firmware_entropy), firmware_entropy); }) !=
        efi::kSuccess)
        return {};
    return firmware_entropy;
}

}  // namespace

// ConOut until ExitBootServices, then null: the console falls back to SBI.
void* firmware_console = nullptr;

// UTF-8 in, UTF-16 out (code points past the BMP as '?'), "\n" as "\r\n".
void firmware_console_write(std::string_view text) {
    char16_t wide[2 * kConsoleLineBytes + 1];
    std::size_t used = 0;
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<std::uint8_t>(text[i]);
        std::uint32_t code = byte;
        std::size_t length = 1;
        if (byte >= 0xf0) length = 4;
        else if (byte >= 0xe0) length = 3;
        else if (byte >= 0xc0) length = 2;
        if (length > 1) {
            code = byte & (0x7f >> length);
            for (std::size_t k = 1; k < length && i + k < text.size(); ++k)
                code = code << 6 | (static_cast<std::uint8_t>(text[i + k]) & 0x3f);
        }
        i += length;
        if (code == '\n') wide[used++] = u'\r';
        wide[used++] = code <= 0xffff ? static_cast<char16_t>(code) : u'?';
    }
    wide[used] = 0;
    firmware([&] { return firmware_text()->output_string(firmware_text(), wide); });
}

}  // namespace loader

extern "C" [[noreturn]] void loader_efi_main(loader::efi::Handle image, loader::efi::SystemTable* system,
                                             std::uint64_t entry_time, std::uint64_t entry_instret) {
    using namespace loader;
    firmware_console = system->con_out;
    efi::BootServices& services = *system->boot_services;
    const std::uint8_t* device_tree = find_device_tree(*system);
    fdt::MachineInfo& machine = read_machine(reinterpret_cast<std::uint64_t>(device_tree));
    const BootHart boot_hart = find_boot_hart(services, machine);
    set_boot_stack_hart_id(boot_hart.id);

    void* interface = nullptr;
    const efi::Status status =
        firmware([&] { return services.handle_protocol(image, &efi::kLoadedImageProtocolGuid, &interface); });
    if (status != efi::kSuccess || interface == nullptr)
        fail_with([&](Console& out) {
            kmem::write(out, "EFI: the image handle has no EFI_LOADED_IMAGE_PROTOCOL: status ");
            write_status(out, status);
        });
    const auto& loaded_image = *static_cast<const efi::LoadedImageProtocol*>(interface);
    const LoadOptions options = read_load_options(loaded_image);
    DoorInputs door;
    const bool kernel_from_file = !options.kernel.empty() || embedded_kernel().empty();
    if (kernel_from_file || !options.initrd.empty()) {
        const Path directory = loader_directory(loaded_image);
        efi::FileProtocol& root = open_volume(services, loaded_image);
        if (kernel_from_file)
            door.kernel_file = load_file(services, root, resolve(directory, options.kernel.empty() ? kDefaultKernelFile
                                                                                                    : options.kernel),
                                         "kernel");
        if (!options.initrd.empty()) {
            machine.chosen.initrd = load_file(services, root, resolve(directory, options.initrd), "initrd");
            machine.chosen.has_initrd = true;
        }
    }
    if (options.given) {
        machine.chosen.bootargs = options.command_line;
        machine.chosen.has_bootargs = true;
    }
    if (machine.chosen.rng_seed.empty()) door.entropy = rng_protocol_entropy(services);

    const kmem::PhysicalRange tree{kmem::PhysicalAddress(reinterpret_cast<std::uint64_t>(device_tree)),
                                   kmem::PhysicalAddress(reinterpret_cast<std::uint64_t>(device_tree) + machine.fdt_size)};
    const MemoryMap map = exit_boot_services(image, services);
    firmware_console = nullptr;
    std::size_t kept = 0;
    reserve_firmware_memory(map, tree, machine, kept);
    const Timestamp door_done = read_timestamp();
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::write(out, "EFI: image at ");
        kmem::write_hex(out, reinterpret_cast<std::uint64_t>(&loader_image_start));
        kmem::write(out, ", boot hart ");
        kmem::write_dec(out, boot_hart.id);
        kmem::write(out, " (");
        kmem::write(out, boot_hart.source);
        kmem::write(out, "), memory map of ");
        kmem::write_dec(out, map.count());
        kmem::write(out, " descriptors, ");
        kmem::write_dec(out, kept);
        kmem::write(out, " ranges kept from the kernel, entropy from ");
        kmem::write(out, !machine.chosen.rng_seed.empty() ? "/chosen/rng-seed"
                         : !door.entropy.empty()           ? "EFI_RNG_PROTOCOL"
                                                           : "nowhere");
    });
    // For bench/run.py: the door's share of the boot, and the firmware's share of the door.
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::write(out, "EFI: instret: door +");
        kmem::write_dec(out, door_done.instret - entry_instret);
        kmem::write(out, ", in firmware calls ");
        kmem::write_dec(out, firmware_instret);
    });
    for (const fdt::ReservedRange& reserved : machine.reserved) {
        if (reserved.source != fdt::ReservationSource::kFirmwareMemoryMap) continue;
        log<LogLevel::kInfo>([&](Console& out) {
            kmem::write(out, "EFI: kept ");
            reserved.range.format(out);
            kmem::write(out, " ");
            kmem::write(out, reserved.node);
        });
    }
    boot(boot_hart.id, reinterpret_cast<std::uint64_t>(device_tree), Timestamp{entry_time, entry_instret}, door);
}
