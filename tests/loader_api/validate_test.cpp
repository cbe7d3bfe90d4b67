// validate(): the sample block passes; each mutation breaks exactly one
// invariant and is reported with its code, field and index. The builder's
// own behaviour (sorting, merging, capacity errors) is tested first.

#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "loader_api/validate.hpp"
#include "sample_boot_info.hpp"
#include "loader_api/host/text.hpp"

using namespace loader_api;
using Code = ValidationError::Code;

namespace {

using loader_api::host::text_of;

// Entries are reached through the block's bytes, as a kernel would.
HartInfo& hart(sample::Block& block, std::size_t index) {
    return const_cast<HartInfo&>(block.info().hart_table()[index]);
}
MemoryRegion& region(sample::Block& block, std::size_t index) {
    return const_cast<MemoryRegion&>(block.info().regions()[index]);
}
KernelSegment& segment(sample::Block& block, std::size_t index) {
    return const_cast<KernelSegment&>(block.info().segments()[index]);
}

}  // namespace

TEST_CASE("builder: layout, sorting, merging") {
    sample::Block block;
    sample::build(block);
    const BootInfo& info = block.info();
    CHECK(info.header.magic == 0x4f464e49544f4f42);
    CHECK(info.header.total_size == required_size(BootInfoCapacity{4, 16, 4, 64}));
    // 312 + 4*48 + 16*24 + 4*32 + 64 + 1, rounded up to 8.
    CHECK(info.header.total_size == 1088);
    CHECK(info.harts.offset == 312);
    REQUIRE(info.hart_table().size() == 3);
    CHECK(info.hart_table()[0].hart_id == 0);
    CHECK(info.hart_table()[1].hart_id == 5);
    CHECK(info.hart_table()[2].hart_id == 9);
    CHECK(info.find_hart(5) == &info.hart_table()[1]);
    CHECK(info.find_hart(4) == nullptr);
    CHECK(info.regions().size() == 13);
    CHECK(info.segments().size() == 2);
    CHECK(info.cmdline() == "console=ttyS0 quiet");
    CHECK(reinterpret_cast<const char*>(info.bytes())[info.command_line.offset + info.command_line.count] == '\0');
}

TEST_CASE("builder: merges adjacent regions of one kind and rejects overlap") {
    alignas(8) std::byte bytes[1024];
    auto builder = BootInfoBuilder::create(bytes, {1, 2, 1, 8});
    REQUIRE(builder.has_value());
    REQUIRE(builder->add_region({{0x1000, 0x2000}, MemoryRegionKind::Usable}).has_value());
    REQUIRE(builder->add_region({{0x2000, 0x5000}, MemoryRegionKind::Usable}).has_value());
    REQUIRE(builder->info().regions().size() == 1);
    CHECK(builder->info().regions()[0].range == PhysRange{0x1000, 0x5000});
    auto overlapping = builder->add_region({{0x4000, 0x6000}, MemoryRegionKind::Reserved});
    REQUIRE(!overlapping.has_value());
    CHECK(overlapping.error().code == BuildError::Code::RegionOutOfOrder);
    REQUIRE(builder->add_region({{0x5000, 0x6000}, MemoryRegionKind::Reserved}).has_value());
    auto full = builder->add_region({{0x6000, 0x7000}, MemoryRegionKind::Usable});
    REQUIRE(!full.has_value());
    CHECK(full.error().code == BuildError::Code::TooManyRegions);
    REQUIRE(builder->add_hart({3, HartState::Started, 0, {}, {}}).has_value());
    CHECK(builder->add_hart({4, HartState::Started, 0, {}, {}}).error().code == BuildError::Code::TooManyHarts);
    CHECK(builder->set_command_line("123456789").error().code == BuildError::Code::CommandLineTooLong);
}

TEST_CASE("builder: buffer errors") {
    alignas(8) std::byte bytes[512];
    auto small = BootInfoBuilder::create(bytes, {4, 16, 4, 64});
    REQUIRE(!small.has_value());
    CHECK(small.error().code == BuildError::Code::BufferTooSmall);
    CHECK(small.error().needed == 1088);
    CHECK(small.error().available == 512);
    auto misaligned = BootInfoBuilder::create(std::span(bytes + 4, 500), {1, 1, 1, 1});
    REQUIRE(!misaligned.has_value());
    CHECK(misaligned.error().code == BuildError::Code::BufferMisaligned);
    char line[160];
    kmem::BufferSink sink(line, sizeof line);
    small.error().format(sink);
    CHECK(sink.view() == "boot info builder: buffer too small: need 0x440, capacity 0x200");
}

TEST_CASE("validate: the sample block is valid") {
    sample::Block block;
    sample::build(block);
    auto result = validate(block.info(), block.bytes.size());
    if (!result) FAIL(text_of(result.error()));
    // Exactly total_size bytes are enough.
    CHECK(validate(block.info(), block.info().header.total_size).has_value());
}

struct Mutation {
    const char* name;
    std::function<void(sample::Block&)> apply;
    Code code;
    std::string_view field;
    std::uint64_t index = ValidationError::kNoIndex;
    std::size_t available = 4096;
};

TEST_CASE("validate: each broken invariant is reported with its field") {
    const std::uint64_t stack = 0xffffffffc0000000;
    const Mutation mutations[] = {
        {"magic", [](auto& b) { b.info().header.magic ^= 1; }, Code::BadMagic, "header.magic"},
        {"major version", [](auto& b) { b.info().header.version_major = 2; }, Code::UnsupportedVersion, "header.version_major"},
        {"total size below the fixed part", [](auto& b) { b.info().header.total_size = 100; }, Code::TotalSizeTooSmall, "header.total_size"},
        {"total size beyond available", [](auto&) {}, Code::TotalSizeBeyondAvailable, "header.total_size", ValidationError::kNoIndex, 1000},
        {"fingerprint", [](auto& b) { b.info().header.abi_fingerprint += 1; }, Code::FingerprintMismatch, "header.abi_fingerprint"},
        {"hart array past the end", [](auto& b) { b.info().harts.count = 100; }, Code::ArrayOutOfBounds, "harts"},
        {"region array inside the fixed part", [](auto& b) { b.info().memory_regions.offset = 8; }, Code::ArrayOutOfBounds, "memory_regions"},
        {"segment array misaligned", [](auto& b) { b.info().kernel_segments.offset += 4; }, Code::ArrayOutOfBounds, "kernel_segments"},
        {"command line past the end", [](auto& b) { b.info().command_line.count = 2000; }, Code::ArrayOutOfBounds, "command_line"},
        {"command line not terminated", [](auto& b) { b.info().command_line.count -= 1; }, Code::CommandLineNotTerminated, "command_line"},
        {"no regions", [](auto& b) { b.info().memory_regions.count = 0; }, Code::NoMemoryRegions, "memory_regions"},
        {"region inverted", [](auto& b) { region(b, 2).range.end = 0x80100000 - 0x1000; }, Code::RangeInverted, "memory_regions", 2},
        {"region empty", [](auto& b) { region(b, 2).range.end = region(b, 2).range.begin; }, Code::RegionEmpty, "memory_regions", 2},
        {"region misaligned", [](auto& b) { region(b, 8).range.begin += 8; }, Code::RegionMisaligned, "memory_regions", 8},
        {"region kind unknown", [](auto& b) { region(b, 4).kind = static_cast<MemoryRegionKind>(77); }, Code::RegionKindUnknown, "memory_regions", 4},
        {"regions unsorted", [](auto& b) { std::swap(region(b, 9), region(b, 10)); }, Code::RegionsUnsorted, "memory_regions", 10},
        {"regions overlap", [](auto& b) { region(b, 6).range.end = 0x80409000; }, Code::RegionsOverlap, "memory_regions", 7},
        {"regions not merged", [](auto& b) { region(b, 9).kind = MemoryRegionKind::Usable; }, Code::RegionsNotMerged, "memory_regions", 9},
        {"paging mode", [](auto& b) { b.info().paging_mode = static_cast<PagingMode>(11); }, Code::PagingModeUnknown, "paging_mode"},
        {"root table misaligned", [](auto& b) { b.info().root_table += 0x800; }, Code::RootTableMisaligned, "root_table"},
        {"root table not in PageTables", [](auto& b) { b.info().root_table = 0x80408000; }, Code::RootTableNotInPageTables, "root_table"},
        {"physmap inverted", [](auto& b) { std::swap(b.info().physmap.begin, b.info().physmap.end); }, Code::RangeInverted, "physmap"},
        {"physmap in the lower half", [](auto& b) { b.info().physmap = {0x80000000, 0x90000000}; b.info().physmap_offset = 0; }, Code::NotHigherHalf, "physmap"},
        {"physmap not canonical for Sv39", [](auto& b) { b.info().paging_mode = PagingMode::Sv39; }, Code::NotHigherHalf, "physmap"},
        {"physmap offset overflows", [](auto& b) { b.info().physmap_offset = ~std::uint64_t{0} - 0x1000; }, Code::PhysmapOffsetOverflow, "physmap_offset"},
        {"physmap misses the top of RAM", [](auto& b) { b.info().physmap.end -= 0x1000; }, Code::PhysmapIncomplete, "physmap"},
        {"physmap misses the bottom of RAM", [](auto& b) { b.info().physmap.begin += 0x1000; }, Code::PhysmapIncomplete, "physmap"},
        {"kernel range empty", [](auto& b) { b.info().kernel_virtual.end = b.info().kernel_virtual.begin; }, Code::KernelRangeMisaligned, "kernel_virtual"},
        {"kernel range in the lower half", [](auto& b) { b.info().kernel_virtual = {0x200000, 0x206000}; }, Code::NotHigherHalf, "kernel_virtual"},
        {"kernel overlaps physmap", [](auto& b) { b.info().physmap.end = 0xffffffff80201000; }, Code::KernelOverlapsPhysmap, "kernel_virtual"},
        {"no kernel segments", [](auto& b) { b.info().kernel_segments.count = 0; }, Code::NoKernelSegments, "kernel_segments"},
        {"segment misaligned", [](auto& b) { segment(b, 1).physical_begin += 0x10; }, Code::KernelSegmentMisaligned, "kernel_segments", 1},
        {"segment outside the kernel range", [](auto& b) { b.info().kernel_virtual.end -= 0x1000; }, Code::KernelSegmentOutsideKernelRange, "kernel_segments", 1},
        {"segments overlap", [](auto& b) { segment(b, 1).virt.begin -= 0x1000; }, Code::KernelSegmentsOverlap, "kernel_segments", 1},
        {"segment frames not Kernel", [](auto& b) { segment(b, 1).physical_begin = 0x80409000; }, Code::KernelSegmentNotInKernelRegion, "kernel_segments", 1},
        {"TLS file size", [](auto& b) { b.info().tls_template.file_size = 0x41; }, Code::TlsTemplateFileSizeExceedsMemorySize, "tls_template.file_size"},
        {"TLS alignment", [](auto& b) { b.info().tls_template.alignment = 24; }, Code::TlsTemplateAlignmentNotPowerOfTwo, "tls_template.alignment"},
        {"TLS image outside kernel", [](auto& b) { b.info().tls_template.start = sample::kKernelBase + 0x5ff8; }, Code::TlsTemplateOutsideKernel, "tls_template.start"},
        {"harts unsorted", [](auto& b) { std::swap(hart(b, 0), hart(b, 1)); }, Code::HartsUnsorted, "harts", 1},
        {"hart id twice", [](auto& b) { hart(b, 2).hart_id = 5; }, Code::HartIdDuplicate, "harts", 2},
        {"hart state unknown", [](auto& b) { hart(b, 2).state = static_cast<HartState>(0); }, Code::HartStateUnknown, "harts", 2},
        {"failed hart without error", [](auto& b) { hart(b, 2).sbi_error = 0; }, Code::HartErrorInconsistent, "harts", 2},
        {"started hart with error", [](auto& b) { hart(b, 0).sbi_error = -1; }, Code::HartErrorInconsistent, "harts", 0},
        {"stack inverted", [](auto& b) { std::swap(hart(b, 0).stack.begin, hart(b, 0).stack.end); }, Code::RangeInverted, "harts.stack", 0},
        {"stack empty", [](auto& b) { hart(b, 1).stack = {}; }, Code::StackEmpty, "harts.stack", 1},
        {"stack misaligned", [stack](auto& b) { hart(b, 1).stack.end = stack + 0x10ff0; }, Code::StackMisaligned, "harts.stack", 1},
        {"stack in the lower half", [](auto& b) { hart(b, 1).stack = {0x1000, 0x3000}; }, Code::NotHigherHalf, "harts.stack", 1},
        {"stack in the physmap", [](auto& b) { hart(b, 1).stack = {0xffff800081000000, 0xffff800081004000}; }, Code::StackInPhysmap, "harts.stack", 1},
        {"stack over another's guard page", [stack](auto& b) { hart(b, 1).stack = {stack + 0x11000, stack + 0x12000}; }, Code::StacksOverlap, "harts.stack", 1},
        {"TLS block too small", [](auto& b) { hart(b, 0).tls.end -= 8; }, Code::TlsBlockTooSmall, "harts.tls", 0},
        {"TLS block misaligned", [](auto& b) { hart(b, 1).tls.begin += 8; hart(b, 1).tls.end += 8; }, Code::TlsBlockMisaligned, "harts.tls", 1},
        {"TLS blocks overlap", [](auto& b) { hart(b, 1).tls = hart(b, 0).tls; }, Code::TlsBlocksOverlap, "harts.tls", 1},
        {"boot hart missing", [](auto& b) { b.info().boot_hart_id = 4; }, Code::BootHartMissing, "boot_hart_id"},
        {"boot hart not started", [](auto& b) { b.info().boot_hart_id = 9; }, Code::BootHartNotStarted, "boot_hart_id"},
        {"kernel file outside RAM", [](auto& b) { b.info().kernel_file.end = 0x80109000; }, Code::OutsideRam, "kernel_file"},
        {"device tree outside Fdt", [](auto& b) { b.info().device_tree.end = 0x8ff04000; }, Code::WrongRegionKind, "device_tree"},
        {"initrd inverted", [](auto& b) { b.info().initrd.begin = 0x88200000; }, Code::RangeInverted, "initrd"},
        {"initrd outside Initrd", [](auto& b) { b.info().initrd = {0x88100000, 0x88200000}; }, Code::WrongRegionKind, "initrd"},
        {"random all zero", [](auto& b) { std::memset(b.info().random, 0, 32); }, Code::RandomAllZero, "random"},
        {"timebase zero", [](auto& b) { b.info().timebase_frequency = 0; }, Code::TimebaseZero, "timebase_frequency"},
        {"time backwards", [](auto& b) { b.info().timestamps.handoff_time = 999; }, Code::TimestampsBackwards, "timestamps.handoff_time"},
        {"instret backwards", [](auto& b) { b.info().timestamps.handoff_instret = 1; }, Code::TimestampsBackwards, "timestamps.handoff_instret"},
    };
    for (const Mutation& mutation : mutations) {
        CAPTURE(mutation.name);
        sample::Block block;
        sample::build(block);
        mutation.apply(block);
        auto result = validate(block.info(), mutation.available);
        REQUIRE_MESSAGE(!result.has_value(), "not detected: ", mutation.name);
        const ValidationError& error = result.error();
        INFO("reported: ", text_of(error));
        CHECK(error.code == mutation.code);
        CHECK(error.field == mutation.field);
        CHECK(error.index == mutation.index);
    }
}

TEST_CASE("validate: messages name the field and the values") {
    sample::Block block;
    sample::build(block);
    region(block, 6).range.end = 0x80409000;
    auto result = validate(block.info(), 4096);
    REQUIRE(!result.has_value());
    CHECK(text_of(result.error()) ==
          "boot_info: memory_regions[7]: region overlaps the previous one: begins at 0x80408000 (previous ends at 0x80409000)");

    sample::Block other;
    sample::build(other);
    other.info().tls_template.alignment = 24;
    CHECK(text_of(validate(other.info(), 4096).error()) == "boot_info: tls_template.alignment: alignment not a power of two 0x18");
}

TEST_CASE("validate: a newer minor version may use region kinds and hart states unknown here") {
    sample::Block block;
    sample::build(block);
    region(block, 4).kind = static_cast<MemoryRegionKind>(77);
    hart(block, 0).state = static_cast<HartState>(9);
    CHECK(!validate(block.info(), 4096).has_value());
    block.info().header.version_minor = kBootInfoVersionMinor + 1;
    // Hart 0 is not "Started" to this build, so only the boot hart (5) is checked as started.
    CHECK(validate(block.info(), 4096).has_value());
}

TEST_CASE("validate: a kernel without TLS may have empty TLS blocks") {
    sample::Block block;
    sample::build(block);
    block.info().tls_template = {};
    hart(block, 0).tls = {};
    hart(block, 1).tls = {};
    CHECK(validate(block.info(), 4096).has_value());
}

// --- Protocol 1.1: the appended fields.

namespace {

// The sample block with a two-descriptor EFI memory map (a 48-byte stride,
// as some firmware uses; the spec's minimum is 40) and a system table in RAM.
void build_with_efi(sample::Block& block, std::uint32_t stride = 48) {
    sample::build(block, 2 * 48);
    std::byte map[2 * 48] = {};
    map[0] = std::byte{7};       // EfiConventionalMemory
    map[stride] = std::byte{6};  // EfiRuntimeServicesData
    REQUIRE(block.builder.set_efi_memory_map({map, 2 * std::size_t{stride}}, stride, 1).has_value());
    block.info().efi_system_table = 0x80409008;
    block.info().entropy_sources = kEntropyDeviceTree | kEntropyEfiRng;
}

}  // namespace

TEST_CASE("validate 1.1: the EFI memory map and system table") {
    sample::Block block;
    build_with_efi(block);
    auto result = validate(block.info(), 4096);
    if (!result) FAIL(text_of(result.error()));
    CHECK(block.info().efi_memory_map_bytes().size() == 96);
    CHECK(block.info().efi_memory_map.offset % 8 == 0);

    const Mutation mutations[] = {
        {"map past the end", [](auto& b) { b.info().efi_memory_map.count = 4000; }, Code::ArrayOutOfBounds, "efi_memory_map"},
        {"map misaligned", [](auto& b) { b.info().efi_memory_map.offset += 4; }, Code::ArrayOutOfBounds, "efi_memory_map"},
        {"descriptor below 40 bytes", [](auto& b) { b.info().efi_memory_descriptor_size = 32; }, Code::EfiMemoryMapMalformed, "efi_memory_map"},
        {"descriptor size not a multiple of 8", [](auto& b) { b.info().efi_memory_descriptor_size = 44; }, Code::EfiMemoryMapMalformed, "efi_memory_map"},
        {"part of a descriptor", [](auto& b) { b.info().efi_memory_map.count = 72; }, Code::EfiMemoryMapMalformed, "efi_memory_map"},
        {"system table misaligned", [](auto& b) { b.info().efi_system_table += 4; }, Code::EfiSystemTableMisplaced, "efi_system_table"},
        {"system table outside RAM", [](auto& b) { b.info().efi_system_table = 0x80108000; }, Code::EfiSystemTableMisplaced, "efi_system_table"},
        {"unknown entropy source", [](auto& b) { b.info().entropy_sources = 8; }, Code::EntropySourceUnknown, "entropy_sources"},
        {"array inside the 1.1 fixed part", [](auto& b) { b.info().harts.offset = 280; }, Code::ArrayOutOfBounds, "harts"},
    };
    for (const Mutation& mutation : mutations) {
        CAPTURE(mutation.name);
        sample::Block broken;
        build_with_efi(broken);
        mutation.apply(broken);
        auto failed = validate(broken.info(), mutation.available);
        REQUIRE_MESSAGE(!failed.has_value(), "not detected: ", mutation.name);
        INFO("reported: ", text_of(failed.error()));
        CHECK(failed.error().code == mutation.code);
        CHECK(failed.error().field == mutation.field);
    }
    sample::Block broken;
    build_with_efi(broken);
    broken.info().efi_memory_descriptor_size = 36;
    CHECK(text_of(validate(broken.info(), 4096).error()) ==
          "boot_info: efi_memory_map: EFI memory map not whole descriptors of at least 40 bytes: bytes 0x60 (descriptor size 0x24)");
}

TEST_CASE("validate 1.1: a 1.0 block (fixed part of 280 bytes, no 1.1 fields) is still valid") {
    sample::Block block;
    sample::build(block);
    BootInfo& info = block.info();
    // Move every array 32 bytes down, into the room 1.0 has after its fixed part.
    const std::uint32_t shift = kBootInfoFixedSizeV1_1 - kBootInfoFixedSizeV1_0;
    std::memmove(block.bytes.data() + kBootInfoFixedSizeV1_0, block.bytes.data() + kBootInfoFixedSizeV1_1,
                 info.header.total_size - kBootInfoFixedSizeV1_1);
    for (ArrayRef* ref : {&info.harts, &info.memory_regions, &info.kernel_segments, &info.command_line}) ref->offset -= shift;
    info.header.total_size -= shift;
    info.header.version_minor = 0;
    // What a 1.0 block holds at offsets 280.. is array data, never 1.1 fields.
    CHECK(!info.has_v1_1());
    CHECK(info.efi_memory_map_bytes().empty());
    auto result = validate(info, info.header.total_size);
    if (!result) FAIL(text_of(result.error()));
    CHECK(info.hart_table().size() == 3);
    CHECK(info.cmdline() == "console=ttyS0 quiet");
    // The same block claiming 1.1 is caught: its arrays start inside the 1.1 fixed part.
    info.header.version_minor = 1;
    CHECK(!validate(info, info.header.total_size).has_value());
}

TEST_CASE("validate 1.1: UsableUnmapped RAM lies beyond the physmap") {
    sample::Block block;
    sample::build(block);
    // The last region becomes free RAM the physmap does not reach.
    region(block, 12).kind = MemoryRegionKind::UsableUnmapped;
    block.info().physmap.end = 0xffff80008ff03000;
    auto result = validate(block.info(), 4096);
    if (!result) FAIL(text_of(result.error()));
    // Any other kind must still be mapped.
    region(block, 12).kind = MemoryRegionKind::Usable;
    CHECK(validate(block.info(), 4096).error().code == Code::PhysmapIncomplete);
}
