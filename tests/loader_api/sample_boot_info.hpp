#pragma once
// A small, valid machine for the host tests: 256 MiB of RAM at 0x80000000,
// three harts (ids 0, 5, 9; hart 9 failed to start), Sv48, KASLR slide
// 0x200000. Every number is written out here, not computed by the code
// under test.

#include <array>
#include <cstddef>

#include "loader_api/boot_info_builder.hpp"

namespace sample {

using namespace loader_api;

inline constexpr std::uint64_t kPhysmapOffset = 0xffff800000000000;
inline constexpr std::uint64_t kKernelBase = 0xffffffff80200000;

struct Block {
    alignas(8) std::array<std::byte, 4096> bytes{};
    BootInfoBuilder builder;

    BootInfo& info() { return builder.info(); }
};

// Without doctest, so that the JSON dumper can use it too.
inline void must(bool ok) {
    if (!ok) __builtin_trap();
}

inline void build(Block& block, std::uint32_t efi_memory_map_bytes = 0) {
    auto created = BootInfoBuilder::create(block.bytes, BootInfoCapacity{.harts = 4, .regions = 16, .segments = 4, .command_line = 64,
                                                                         .efi_memory_map = efi_memory_map_bytes});
    must(created.has_value());
    block.builder = *created;
    BootInfo& info = block.info();
    info.boot_hart_id = 5;
    info.paging_mode = PagingMode::Sv48;
    info.root_table = 0x80400000;
    info.physmap_offset = kPhysmapOffset;
    info.physmap = {0xffff800080000000, 0xffff800090000000};
    info.kernel_virtual = {kKernelBase, kKernelBase + 0x6000};
    info.kaslr_slide = 0x200000;
    info.kernel_file = {0x80100000, 0x80108000};
    info.tls_template = {kKernelBase + 0x4000, 0x10, 0x40, 16};
    info.device_tree = {0x8ff00100, 0x8ff02100};
    info.initrd = {0x88000000, 0x88100000};
    for (std::size_t i = 0; i < 32; ++i) info.random[i] = static_cast<std::uint8_t>(i * 7 + 1);
    info.timebase_frequency = 10000000;
    info.timestamps = {1000, 2000, 5000, 90000};

    const MemoryRegion regions[] = {
        {{0x80000000, 0x80100000}, MemoryRegionKind::Reserved},           // OpenSBI
        {{0x80100000, 0x80104000}, MemoryRegionKind::Kernel},             // text, rodata in place in the ELF
        {{0x80104000, 0x80108000}, MemoryRegionKind::LoaderReclaimable},  // rest of the ELF file + loader
        {{0x80200000, 0x80202000}, MemoryRegionKind::Kernel},             // copied data + bss
        {{0x80300000, 0x80318000}, MemoryRegionKind::KernelStack},
        {{0x80318000, 0x8031b000}, MemoryRegionKind::Tls},
        {{0x80400000, 0x80408000}, MemoryRegionKind::PageTables},
        {{0x80408000, 0x80409000}, MemoryRegionKind::BootInfo},
        {{0x80409000, 0x88000000}, MemoryRegionKind::Usable},
        {{0x88000000, 0x88100000}, MemoryRegionKind::Initrd},
        {{0x88100000, 0x8ff00000}, MemoryRegionKind::Usable},
        {{0x8ff00000, 0x8ff03000}, MemoryRegionKind::Fdt},
        {{0x8ff03000, 0x90000000}, MemoryRegionKind::Usable},
    };
    // The gaps between 0x80108000..0x80200000 etc. are not RAM here: the
    // map need not be contiguous.
    for (const MemoryRegion& region : regions) must(block.builder.add_region(region).has_value());

    must(block.builder.add_segment({{kKernelBase, kKernelBase + 0x4000}, 0x80100000, kSegmentRead | kSegmentExecute}).has_value());
    must(block.builder.add_segment({{kKernelBase + 0x4000, kKernelBase + 0x6000}, 0x80200000,
                                       kSegmentRead | kSegmentWrite | kSegmentCopied}).has_value());

    const std::uint64_t stacks = 0xffffffffc0000000;
    // Added out of order on purpose: the builder sorts by hart id.
    must(block.builder.add_hart({9, HartState::Failed, -3, {}, {}}).has_value());
    must(block.builder.add_hart({5, HartState::Started, 0, {stacks + 0x1000, stacks + 0x11000},
                                    {0xffff800080318000, 0xffff800080318040}}).has_value());
    must(block.builder.add_hart({0, HartState::Started, 0, {stacks + 0x12000, stacks + 0x22000},
                                    {0xffff800080319000, 0xffff800080319040}}).has_value());
    must(block.builder.set_command_line("console=ttyS0 quiet").has_value());
}

}  // namespace sample
