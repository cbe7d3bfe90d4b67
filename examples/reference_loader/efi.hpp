#pragma once
// The few UEFI types the loader's EFI door uses, declared from the UEFI
// specification (2.10): no gnu-efi or EDK2 headers exist for riscv64 in
// Debian 12. Layouts are the specification's, checked by static_asserts on
// the offsets it gives; calls use the platform's standard calling convention
// (RISC-V: the LP64 ABI).

#include <cstddef>
#include <cstdint>

namespace loader::efi {

using Status = std::uint64_t;
using Handle = void*;
using Char16 = char16_t;

inline constexpr Status kSuccess = 0;
inline constexpr Status kErrorBit = std::uint64_t{1} << 63;
inline constexpr Status kInvalidParameter = kErrorBit | 2;
inline constexpr Status kBufferTooSmall = kErrorBit | 5;
inline constexpr Status kNotFound = kErrorBit | 14;

struct Guid {
    std::uint32_t data1;
    std::uint16_t data2;
    std::uint16_t data3;
    std::uint8_t data4[8];

    constexpr bool operator==(const Guid&) const = default;
};

// Section 4.6 (configuration tables) and the protocols' own sections.
inline constexpr Guid kDeviceTreeTableGuid{0xb1b621d5, 0xf19c, 0x41a5, {0x83, 0x0b, 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0}};
inline constexpr Guid kRiscvBootProtocolGuid{0xccd15fec, 0x6f73, 0x4eec, {0x83, 0x95, 0x3e, 0x69, 0xe4, 0xb9, 0x40, 0xbf}};
inline constexpr Guid kLoadedImageProtocolGuid{0x5b1b31a1, 0x9562, 0x11d2, {0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
inline constexpr Guid kSimpleFileSystemProtocolGuid{0x964e5b22, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
inline constexpr Guid kFileInfoGuid{0x09576e92, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
inline constexpr Guid kRngProtocolGuid{0x3152bca5, 0xeade, 0x433d, {0x86, 0x2e, 0xc0, 0x1c, 0xdc, 0x29, 0x1f, 0x44}};

struct TableHeader {
    std::uint64_t signature;
    std::uint32_t revision;
    std::uint32_t header_size;
    std::uint32_t crc32;
    std::uint32_t reserved;
};

struct SimpleTextOutputProtocol {
    Status (*reset)(SimpleTextOutputProtocol* self, bool extended_verification);
    Status (*output_string)(SimpleTextOutputProtocol* self, const Char16* string);
    // The rest of the protocol is not used.
};

struct ConfigurationTable {
    Guid vendor_guid;
    void* vendor_table;
};
static_assert(sizeof(ConfigurationTable) == 24);

// Section 7.2: EFI_MEMORY_TYPE.
enum class MemoryType : std::uint32_t {
    Reserved = 0,
    LoaderCode = 1,
    LoaderData = 2,
    BootServicesCode = 3,
    BootServicesData = 4,
    RuntimeServicesCode = 5,
    RuntimeServicesData = 6,
    Conventional = 7,
    Unusable = 8,
    AcpiReclaim = 9,
    AcpiNvs = 10,
    MemoryMappedIo = 11,
    MemoryMappedIoPortSpace = 12,
    PalCode = 13,
    Persistent = 14,
    Unaccepted = 15,
};

struct MemoryDescriptor {
    MemoryType type;
    std::uint32_t padding;
    std::uint64_t physical_start;
    std::uint64_t virtual_start;
    std::uint64_t number_of_pages;  // 4 KiB pages
    std::uint64_t attribute;
};
static_assert(offsetof(MemoryDescriptor, physical_start) == 8 && offsetof(MemoryDescriptor, number_of_pages) == 24 &&
              sizeof(MemoryDescriptor) == 40);

enum class AllocateType : std::uint32_t { AnyPages = 0, MaxAddress = 1, Address = 2 };

// Section 7: the boot services table, in the specification's order. The
// entries the loader never calls are kept as placeholders so that the ones
// it does call sit at their specified offsets.
struct BootServices {
    TableHeader header;
    void* raise_tpl;
    void* restore_tpl;
    Status (*allocate_pages)(AllocateType type, MemoryType memory_type, std::uint64_t pages, std::uint64_t* memory);
    Status (*free_pages)(std::uint64_t memory, std::uint64_t pages);
    Status (*get_memory_map)(std::uint64_t* map_size, MemoryDescriptor* map, std::uint64_t* map_key,
                             std::uint64_t* descriptor_size, std::uint32_t* descriptor_version);
    void* allocate_pool;
    void* free_pool;
    void* create_event;
    void* set_timer;
    void* wait_for_event;
    void* signal_event;
    void* close_event;
    void* check_event;
    void* install_protocol_interface;
    void* reinstall_protocol_interface;
    void* uninstall_protocol_interface;
    Status (*handle_protocol)(Handle handle, const Guid* protocol, void** interface);
    void* reserved;
    void* register_protocol_notify;
    void* locate_handle;
    void* locate_device_path;
    void* install_configuration_table;
    void* load_image;
    void* start_image;
    void* exit;
    void* unload_image;
    Status (*exit_boot_services)(Handle image, std::uint64_t map_key);
    void* get_next_monotonic_count;
    void* stall;
    void* set_watchdog_timer;
    void* connect_controller;
    void* disconnect_controller;
    void* open_protocol;
    void* close_protocol;
    void* open_protocol_information;
    void* protocols_per_handle;
    void* locate_handle_buffer;
    Status (*locate_protocol)(const Guid* protocol, void* registration, void** interface);
};
static_assert(offsetof(BootServices, allocate_pages) == 24 + 2 * 8);
static_assert(offsetof(BootServices, get_memory_map) == 24 + 4 * 8);
static_assert(offsetof(BootServices, handle_protocol) == 24 + 16 * 8);
static_assert(offsetof(BootServices, exit_boot_services) == 24 + 26 * 8);
static_assert(offsetof(BootServices, locate_protocol) == 24 + 37 * 8);

struct SystemTable {
    TableHeader header;
    const Char16* firmware_vendor;
    std::uint32_t firmware_revision;
    Handle console_in_handle;
    void* con_in;
    Handle console_out_handle;
    SimpleTextOutputProtocol* con_out;
    Handle standard_error_handle;
    SimpleTextOutputProtocol* std_err;
    void* runtime_services;
    BootServices* boot_services;
    std::uint64_t number_of_table_entries;
    ConfigurationTable* configuration_table;
};
static_assert(offsetof(SystemTable, con_out) == 64 && offsetof(SystemTable, runtime_services) == 88 &&
              offsetof(SystemTable, boot_services) == 96 && offsetof(SystemTable, configuration_table) == 112);

// RISC-V UEFI protocol specification (riscv-uefi-edk2-docs): RISCV_EFI_BOOT_PROTOCOL.
struct RiscvBootProtocol {
    std::uint64_t revision;
    Status (*get_boot_hart_id)(RiscvBootProtocol* self, std::uint64_t* boot_hart_id);
};

struct LoadedImageProtocol {
    std::uint32_t revision;
    Handle parent_handle;
    SystemTable* system_table;
    Handle device_handle;
    void* file_path;
    void* reserved;
    std::uint32_t load_options_size;  // bytes
    void* load_options;
    void* image_base;
    std::uint64_t image_size;
    MemoryType image_code_type;
    MemoryType image_data_type;
    void* unload;
};
static_assert(offsetof(LoadedImageProtocol, device_handle) == 24 && offsetof(LoadedImageProtocol, load_options_size) == 48 &&
              offsetof(LoadedImageProtocol, load_options) == 56 && offsetof(LoadedImageProtocol, image_base) == 64);

// Section 37.5: EFI_RNG_PROTOCOL; a null algorithm asks for the default.
struct RngProtocol {
    void* get_info;
    Status (*get_rng)(RngProtocol* self, const Guid* algorithm, std::uint64_t length, std::uint8_t* value);
};

// Section 13.5: EFI_FILE_PROTOCOL (revision 1 members).
struct FileProtocol {
    std::uint64_t revision;
    Status (*open)(FileProtocol* self, FileProtocol** new_handle, const Char16* file_name, std::uint64_t open_mode,
                   std::uint64_t attributes);
    Status (*close)(FileProtocol* self);
    void* delete_file;
    Status (*read)(FileProtocol* self, std::uint64_t* buffer_size, void* buffer);
    void* write;
    void* get_position;
    void* set_position;
    Status (*get_info)(FileProtocol* self, const Guid* information_type, std::uint64_t* buffer_size, void* buffer);
};
static_assert(offsetof(FileProtocol, read) == 32 && offsetof(FileProtocol, get_info) == 64);
inline constexpr std::uint64_t kFileModeRead = 1;

// Section 13.4.
struct SimpleFileSystemProtocol {
    std::uint64_t revision;
    Status (*open_volume)(SimpleFileSystemProtocol* self, FileProtocol** root);
};

// Section 13.5.16: EFI_FILE_INFO, up to the file size the loader reads.
struct FileInfoHead {
    std::uint64_t size;
    std::uint64_t file_size;
};

// Section 10.3: a device path is a list of nodes, each with this header,
// ended by type 0x7f; type 4 subtype 4 holds a file path (UTF-16).
struct DevicePathNode {
    std::uint8_t type;
    std::uint8_t subtype;
    std::uint8_t length[2];  // little-endian, header included
};
inline constexpr std::uint8_t kDevicePathEnd = 0x7f;
inline constexpr std::uint8_t kDevicePathMedia = 4;
inline constexpr std::uint8_t kDevicePathMediaFilePath = 4;

}  // namespace loader::efi
