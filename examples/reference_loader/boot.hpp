#pragma once
// The path every firmware door ends in (main.cpp): a door reads the device
// tree into the plan's MachineInfo, adds what only it knows (the EFI door:
// the firmware's memory map), and hands over to boot().

#include <cstdint>
#include <span>
#include <string_view>

#include "kmem/range.hpp"
#include "loader_api/fdt.hpp"
#include "platform.hpp"

extern "C" {
// The image's first byte (image_header.S): where the firmware placed it.
extern const char loader_image_start[];
}

namespace loader {

// Reads the device tree at `dtb` into the plan's MachineInfo and returns it;
// a malformed tree stops the machine with the reader's error. A tree with
// more harts than the image has room for takes room right after the image;
// a door that owns memory passes claim_room, which takes room of that size
// from the firmware, there if it can, and returns where (0: refused).
loader_api::fdt::BasicMachineInfo& read_machine(std::uint64_t dtb, std::uint64_t (*claim_room)(kmem::PhysicalRange));

// loader.log= of a command line, in force from here on (read_machine applies
// the tree's bootargs; the EFI door its load options).
void apply_log_level(std::string_view bootargs);

// The boot stack's hart id word, for the trap report, when the door learns
// the boot hart after entry.S set up the stack.
void set_boot_stack_hart_id(std::uint64_t hart_id);

// The kernel ELF linked into the image; empty in loader-none.
kmem::PhysicalRange embedded_kernel();

// What a door found besides the device tree.
struct DoorInputs {
    kmem::PhysicalRange kernel_file{};        // empty: the embedded kernel, else the initrd
    std::span<const std::uint8_t> entropy{};  // besides /chosen/rng-seed
    std::uint32_t entropy_sources = 0;        // loader_api::kEntropy* bits of `entropy`
    // Started as an EFI application: handed on to the kernel (BootInfo 1.1).
    std::uint64_t efi_system_table = 0;
    std::span<const std::byte> efi_memory_map{};
    std::uint32_t efi_memory_descriptor_size = 0;
    std::uint32_t efi_memory_descriptor_version = 0;
};

// Everything after the door, on the boot hart: plan, start the harts, enter
// the kernel. `entry` is the door's first timestamp.
[[noreturn]] void boot(std::uint64_t hart_id, std::uint64_t dtb, const Timestamp& entry, const DoorInputs& door = {});

}  // namespace loader
