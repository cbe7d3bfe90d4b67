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
#include "efi_door.hpp"
#include "loader_api/boot_info.hpp"
#include "loader_api/plan/types.hpp"
#include "platform.hpp"

extern "C" void loader_take_traps();  // entry.S: the loader's trap vector, interrupts off

namespace loader {
namespace {

namespace fdt = loader_api::fdt;

// The kernel a loader without one of its own reads when the load options
// name none: beside the loader (docs: "Booting through UEFI").
constexpr std::string_view kDefaultKernelFile = "kernel.elf";

efi::SimpleTextOutputProtocol* firmware_text() { return static_cast<efi::SimpleTextOutputProtocol*>(firmware_console); }

// instret spent inside the firmware's services, into the statistics record
// (loader_stats.h; figures in docs/performance.md).
template <class Call>
efi::Status firmware(Call&& call) {
    const std::uint64_t before = read_timestamp().instret;
    const efi::Status status = call();
    loader_stats_record.firmware += read_timestamp().instret - before;
    return status;
}

// GetMemoryMap fills a buffer the loader owns: allocating one would change
// the very map (and key) it is about to report. This and the other buffers
// of the door are written before they are read, and only on this path:
// not cleared with .bss, which every other boot would pay for. Sized by
// what the planner can hand on in BootInfo: a longer map would be refused
// there, so a larger buffer would only be memory the loader occupies.
constexpr std::size_t kMemoryMapBytes = loader_api::kPlanMaxEfiMemoryMap;
LOADER_NOCLEAR alignas(8) std::byte memory_map[kMemoryMapBytes];

void write_status(Console& out, efi::Status status) {
    kmem::print(out, kmem::hex(status));
    if (status == efi::kInvalidParameter) kmem::print(out, " (EFI_INVALID_PARAMETER)");
    if (status == efi::kBufferTooSmall) kmem::print(out, " (EFI_BUFFER_TOO_SMALL)");
    if (status == efi::kNotFound) kmem::print(out, " (EFI_NOT_FOUND)");
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
BootHart find_boot_hart(efi::BootServices& services, const fdt::BasicMachineInfo& machine) {
    void* interface = nullptr;
    if (firmware([&] { return services.locate_protocol(&efi::kRiscvBootProtocolGuid, nullptr, &interface); }) ==
            efi::kSuccess &&
        interface != nullptr) {
        auto* protocol = static_cast<efi::RiscvBootProtocol*>(interface);
        std::uint64_t id = 0;
        const efi::Status status = firmware([&] { return protocol->get_boot_hart_id(protocol, &id); });
        if (status == efi::kSuccess) return {id, "RISCV_EFI_BOOT_PROTOCOL"};
        fail_with([&](Console& out) {
            kmem::print(out, "EFI: RISCV_EFI_BOOT_PROTOCOL.GetBootHartId failed: status ");
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
efi::MemoryMapView exit_boot_services(efi::Handle image, efi::BootServices& services) {
    constexpr int kAttempts = 4;
    efi::Status status = 0;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        efi::MemoryMapView map{memory_map, kMemoryMapBytes, 0};
        std::uint64_t key = 0;
        status = firmware([&] {
            return services.get_memory_map(&map.size, reinterpret_cast<efi::MemoryDescriptor*>(memory_map), &key,
                                           &map.descriptor_size, &map.descriptor_version);
        });
        if (status != efi::kSuccess)
            fail_with([&](Console& out) {
                kmem::print(out, "EFI: GetMemoryMap failed: status ");
                write_status(out, status);
                kmem::print(out, "; the loader's buffer holds ", kmem::size(kMemoryMapBytes), ", the map needs ",
                            kmem::size(map.size));
            });
        if (map.descriptor_size < sizeof(efi::MemoryDescriptor))
            fail_with([&](Console& out) {
                kmem::print(out, "EFI: GetMemoryMap reports descriptors of ", map.descriptor_size,
                            " bytes, fewer than the 40 of EFI_MEMORY_DESCRIPTOR");
            });
        status = firmware([&] { return services.exit_boot_services(image, key); });
        if (status == efi::kSuccess) return map;
        if (status != efi::kInvalidParameter) break;
    }
    fail_with([&](Console& out) {
        kmem::print(out, "EFI: ExitBootServices failed: status ");
        write_status(out, status);
    });
}

// The reservations added, or a named error that stops the machine.
std::size_t reserve_firmware_memory(const efi::MemoryMapView& map, kmem::PhysicalRange device_tree,
                                    fdt::BasicMachineInfo& machine) {
    const auto result = efi::keep_firmware_memory(map, device_tree, machine);
    if (result) return *result;
    const efi::KeepError& error = result.error();
    fail_with([&](Console& out) {
        kmem::print(out, "EFI: memory map descriptor ", error.descriptor, " (", efi::memory_type_name(error.type));
        if (error.code == efi::KeepError::Code::kWraps) {
            kmem::print(out, ") wraps around the address space");
        } else {
            kmem::print(out, "): more ranges kept from the kernel than the loader holds (", fdt::kMaxReservedRanges,
                        " with the device tree's)");
        }
    });
}

// --- Files on the loader's own volume, named by the load options ---------------

constexpr std::size_t kLoadOptionsBytes = 4096;

template <class S>
void write_path(S& out, const efi::Path& path) {
    for (std::size_t i = 0; i < path.length; ++i) out.put(path.text[i] < 0x80 ? static_cast<char>(path.text[i]) : '?');
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
            kmem::print(out, "EFI: cannot open the volume the loader was loaded from (EFI_SIMPLE_FILE_SYSTEM_PROTOCOL): status ");
            write_status(out, status);
        });
    return *root;
}

// The whole file in pages of EfiLoaderData, which the plan then treats as
// any other input (the kernel file, the initrd): nothing is placed over it.
kmem::PhysicalRange load_file(efi::BootServices& services, efi::FileProtocol& root, const efi::Path& path,
                              std::string_view what) {
    // "EFI: kernel "\EFI\BOOT\kernel.elf": "
    const auto subject = [&](Console& out) {
        kmem::print(out, "EFI: ", what, " \"");
        write_path(out, path);
        kmem::print(out, "\": ");
    };
    const auto failed = [&](std::string_view step, efi::Status status) {
        fail_with([&](Console& out) {
            subject(out);
            kmem::print(out, step, " failed: status ");
            write_status(out, status);
        });
    };
    if (path.too_long)
        fail_with([&](Console& out) {
            subject(out);
            kmem::print(out, "the path is longer than ", efi::kPathLength - 1, " characters");
        });
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
            kmem::print(out, "read ", read, " of its ", size, " bytes");
        });
    firmware([&] { return file->close(file); });
    return {kmem::PhysicalAddress(address), kmem::PhysicalAddress(address + size)};
}

LOADER_NOCLEAR char load_options_text[kLoadOptionsBytes];
LOADER_NOCLEAR char command_line_text[kLoadOptionsBytes];

struct LoadOptions {
    bool given = false;
    efi::LoadOptions words{};
};

LoadOptions read_load_options(const efi::LoadedImageProtocol& image) {
    LoadOptions options;
    if (image.load_options == nullptr || image.load_options_size < 2) return options;
    const std::size_t length = efi::utf8_from_utf16(static_cast<const std::uint8_t*>(image.load_options),
                                                    image.load_options_size, load_options_text, kLoadOptionsBytes);
    options.given = true;
    options.words = efi::parse_load_options({load_options_text, length}, command_line_text);
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

namespace {

// Room for a machine with many harts (read_machine): memory right after the
// image is the firmware's to give, so asked for at that address first, then
// anywhere (U-Boot places the image just below memory it uses itself).
efi::BootServices* room_services = nullptr;
std::uint64_t claim_room(kmem::PhysicalRange room) {
    for (const efi::AllocateType type : {efi::AllocateType::Address, efi::AllocateType::AnyPages}) {
        std::uint64_t address = room.begin().value();
        if (firmware([&] {
                return room_services->allocate_pages(type, efi::MemoryType::LoaderData, room.size() / kmem::kPageSize,
                                                     &address);
            }) == efi::kSuccess)
            return address;
    }
    return 0;
}

}  // namespace

}  // namespace loader

extern "C" [[noreturn]] void loader_efi_main(loader::efi::Handle image, loader::efi::SystemTable* system,
                                             std::uint64_t entry_time, std::uint64_t entry_instret) {
    using namespace loader;
    firmware_console = system->con_out;
    efi::BootServices& services = *system->boot_services;
    const std::uint8_t* device_tree = find_device_tree(*system);
    room_services = &services;
    fdt::BasicMachineInfo& machine = read_machine(reinterpret_cast<std::uint64_t>(device_tree), claim_room);
    const BootHart boot_hart = find_boot_hart(services, machine);
    set_boot_stack_hart_id(boot_hart.id);

    void* interface = nullptr;
    const efi::Status status =
        firmware([&] { return services.handle_protocol(image, &efi::kLoadedImageProtocolGuid, &interface); });
    if (status != efi::kSuccess || interface == nullptr)
        fail_with([&](Console& out) {
            kmem::print(out, "EFI: the image handle has no EFI_LOADED_IMAGE_PROTOCOL: status ");
            write_status(out, status);
        });
    const auto& loaded_image = *static_cast<const efi::LoadedImageProtocol*>(interface);
    const LoadOptions options = read_load_options(loaded_image);
    DoorInputs door;
    const efi::LoadOptions& words = options.words;
    const bool kernel_from_file = !words.kernel.empty() || embedded_kernel().empty();
    if (kernel_from_file || !words.initrd.empty()) {
        const efi::Path directory =
            efi::loader_directory(static_cast<const std::uint8_t*>(loaded_image.file_path));
        efi::FileProtocol& root = open_volume(services, loaded_image);
        if (kernel_from_file)
            door.kernel_file = load_file(services, root,
                                         efi::resolve(directory, words.kernel.empty() ? kDefaultKernelFile : words.kernel),
                                         "kernel");
        if (!words.initrd.empty()) {
            machine.chosen.initrd = load_file(services, root, efi::resolve(directory, words.initrd), "initrd");
            machine.chosen.has_initrd = true;
        }
    }
    if (options.given) {
        machine.chosen.bootargs = words.command_line;
        machine.chosen.has_bootargs = true;
        apply_log_level(machine.chosen.bootargs);
    }
    if (machine.chosen.rng_seed.empty()) {
        door.entropy = rng_protocol_entropy(services);
        if (!door.entropy.empty()) door.entropy_sources = loader_api::kEntropyEfiRng;
    }
    door.efi_system_table = reinterpret_cast<std::uint64_t>(system);

    const kmem::PhysicalRange tree{kmem::PhysicalAddress(reinterpret_cast<std::uint64_t>(device_tree)),
                                   kmem::PhysicalAddress(reinterpret_cast<std::uint64_t>(device_tree) + machine.fdt_size)};
    const efi::MemoryMapView map = exit_boot_services(image, services);
    loader_take_traps();
    firmware_console = nullptr;
    const std::size_t kept = reserve_firmware_memory(map, tree, machine);
    door.efi_memory_map = {map.bytes, map.size};
    door.efi_memory_descriptor_size = static_cast<std::uint32_t>(map.descriptor_size);
    door.efi_memory_descriptor_version = map.descriptor_version;
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "EFI: image at ", kmem::hex(reinterpret_cast<std::uint64_t>(&loader_image_start)),
                    ", boot hart ", boot_hart.id, " (", boot_hart.source, "), memory map of ", map.count(),
                    " descriptors, ", kept, " ranges kept from the kernel, entropy from ");
        kmem::print(out, !machine.chosen.rng_seed.empty() ? "/chosen/rng-seed"
                         : !door.entropy.empty()           ? "EFI_RNG_PROTOCOL"
                                                           : "nowhere");
    });
    for (const fdt::ReservedRange& reserved : machine.reserved) {
        if (!fdt::from_firmware_map(reserved.source)) continue;
        log<LogLevel::kInfo>([&](Console& out) {
            kmem::print(out, "EFI: kept ", reserved.range, " ", reserved.node);
        });
    }
    boot(boot_hart.id, reinterpret_cast<std::uint64_t>(device_tree), Timestamp{entry_time, entry_instret}, door);
}
