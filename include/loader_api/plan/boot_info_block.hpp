#pragma once
// The BootInfo block the kernel gets: built (BootInfoBuilder) from the
// finished plan into plan.boot_info_bytes and its own frames, checked with
// validate(), and patched after planning (harts that failed to start, the
// handoff timestamps).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "loader_api/plan/common.hpp"
#include "loader_api/plan/segments.hpp"
#include "loader_api/plan/memory_map.hpp"
#include "loader_api/plan/physical_io.hpp"
#include "loader_api/plan/random.hpp"

namespace loader_api {

namespace plan_detail {

template <PhysicalMemory P>
Result<void> build_boot_info(Plan& plan, P& memory, const PlanInput& input, const Inputs& in, const KernelImage& image) {
    const fdt::MachineInfo& machine = plan.machine;
    const std::string_view command_line = machine.chosen.has_bootargs ? machine.chosen.bootargs : std::string_view{};
    if (command_line.size() > kPlanMaxCommandLine)
        return capacity_exceeded("command line bytes", kPlanMaxCommandLine);
    // The BootInfo's own frames can split one Usable region into three.
    KMEM_TRY(compute_regions(plan));
    const BootInfoCapacity capacity{static_cast<std::uint32_t>(plan.harts.size()),
                                    static_cast<std::uint32_t>(plan.regions.size() + 2),
                                    static_cast<std::uint32_t>(image.piece_count),
                                    static_cast<std::uint32_t>(command_line.size()),
                                    static_cast<std::uint32_t>(input.options.efi_memory_map.size())};
    if (capacity.efi_memory_map > kPlanMaxEfiMemoryMap)
        return capacity_exceeded("EFI memory map bytes", kPlanMaxEfiMemoryMap);
    if (capacity.regions > kPlanMaxRegions)
        return capacity_exceeded("memory regions", kPlanMaxRegions);
    const std::uint64_t size = required_size(capacity);
    const PhysicalRange frames = KMEM_TRY(allocate(plan, size, k4K, MemoryRegionKind::BootInfo, "BootInfo", kNoIndex));
    KMEM_TRY(compute_regions(plan));

    BootInfoBuilder builder =
        KMEM_TRY(BootInfoBuilder::create(std::span<std::byte>(plan.boot_info_bytes.data(), size), capacity)
                     .map_error(caused_by(PlanErrorCode::BootInfoBuild)));
    auto check = [](kmem::Expected<void, BuildError> result) {
        return result.map_error(caused_by(PlanErrorCode::BootInfoBuild));
    };
    BootInfo& info = builder.info();
    info.boot_hart_id = input.options.boot_hart_id;
    for (const HartPlan& hart : plan.harts)
        KMEM_TRY(check(builder.add_hart({hart.hart_id, hart.state, hart.sbi_error, VirtRange::from(hart.stack),
                                         VirtRange::from(hart.tls)})));
    for (const MemoryRegion& region : plan.regions) KMEM_TRY(check(builder.add_region(region)));
    const std::uint64_t slide = plan.kaslr_slide;
    for (std::size_t i = 0; i < image.piece_count; ++i) {
        const KernelPiece& piece = image.pieces[i];
        std::uint32_t flags = 0;
        if (piece.flags.read) flags |= kSegmentRead;
        if (piece.flags.write) flags |= kSegmentWrite;
        if (piece.flags.execute) flags |= kSegmentExecute;
        if (piece.copied) flags |= kSegmentCopied;
        KMEM_TRY(check(builder.add_segment(
            {{piece.link_begin + slide, piece.link_end + slide}, piece.frames.value(), flags, 0})));
    }
    KMEM_TRY(check(builder.set_command_line(command_line)));
    const PlanOptions& options = input.options;
    KMEM_TRY(check(builder.set_efi_memory_map(options.efi_memory_map, options.efi_memory_descriptor_size,
                                              options.efi_memory_descriptor_version)));
    info.efi_system_table = options.efi_system_table;
    info.entropy_sources = in.entropy_sources;

    const auto& ram = plan.workspace.ram;
    info.paging_mode = to_paging_mode(plan.mode);
    info.root_table = plan.root.value();
    info.physmap_offset = plan.physmap_offset;
    plan.physmap = {VirtualAddress(ram[0].begin().value() + plan.physmap_offset),
                     VirtualAddress(ram[ram.size() - 1].end().value() + plan.physmap_offset)};
    info.physmap = VirtRange::from(plan.physmap);
    const std::uint64_t kernel_begin = image.pieces[0].link_begin + slide;
    const std::uint64_t kernel_end = image.pieces[image.piece_count - 1].link_end + slide;
    plan.kernel_virtual = {VirtualAddress(kernel_begin), VirtualAddress(kernel_end)};
    info.kernel_virtual = VirtRange::from(plan.kernel_virtual);
    info.kaslr_slide = slide;
    info.kernel_file = PhysRange::from(in.kernel_file);
    const TlsSegment tls = in.elf.tls();
    if (tls.present && tls.memsz != 0) {
        info.tls_template = {tls.vaddr.value() + slide, tls.init_image.size(), tls.memsz, tls.align};
    }
    info.device_tree = PhysRange::from(in.device_tree);
    info.initrd = PhysRange::from(in.initrd);

    // Random bytes from their own stream, never the KASLR ones.
    plan_random::SplitMix64 random =
        in.have_entropy() ? plan_random::stream(in.key, plan_random::Stream::BootInfoRandom)
                      : plan_random::stream(plan_random::mix64(input.options.loader_entry_time) ^
                                                input.options.loader_entry_instret ^ in.key,
                                            plan_random::Stream::BootInfoRandom);
    bool any = false;
    for (std::size_t i = 0; i < 32; i += 8) {
        const std::uint64_t word = random.next();
        for (std::size_t k = 0; k < 8; ++k) {
            info.random[i + k] = static_cast<std::uint8_t>(word >> (8 * k));
            any = any || info.random[i + k] != 0;
        }
    }
    if (!any) info.random[0] = 1;

    const fdt::Hart* boot = machine.find_hart(input.options.boot_hart_id);
    std::uint64_t frequency = boot->timebase_frequency != 0 ? boot->timebase_frequency : machine.timebase_frequency;
    if (frequency == 0) {
        frequency = kDefaultTimebaseFrequency;
        warn(plan, WarningCode::NoTimebase, frequency);
    }
    info.timebase_frequency = frequency;
    info.timestamps = {input.options.loader_entry_time, input.options.loader_entry_instret,
                       input.options.loader_entry_time, input.options.loader_entry_instret};

    plan.boot_info_physical = frames.begin();
    plan.boot_info_virtual = VirtualAddress(frames.begin().value() + plan.physmap_offset);
    plan.boot_info_size = info.header.total_size;
    write_physical(memory, frames.begin(), std::span<const std::byte>(plan.boot_info_bytes.data(), size));
    zero_physical(memory, {frames.begin() + size, frames.end()});

    return validate(plan.boot_info(), size).map_error(caused_by(PlanErrorCode::BootInfoInvalid));
}

template <PhysicalMemory P>
void write_boot_info(Plan& plan, P& memory) {
    write_physical(memory, plan.boot_info_physical,
                   std::span<const std::byte>(plan.boot_info_bytes.data(), plan.boot_info_size));
}

}  // namespace plan_detail


// Records that a hart the plan started could not be started (SBI HSM
// hart_start failed with `sbi_error`), in the Plan and in the BootInfo
// frames. The boot hart cannot fail.
template <PhysicalMemory P>
kmem::Expected<void, PlanError> mark_hart_failed(Plan& plan, std::uint64_t hart_id, std::int32_t sbi_error, P& memory) {
    const BootInfo& info = plan.boot_info();
    if (hart_id == info.boot_hart_id)
        return plan_detail::fail(PlanErrorCode::UnknownHart, " is the boot hart, which cannot fail", HartRef{hart_id});
    for (std::size_t i = 0; i < plan.harts.size(); ++i) {
        HartPlan& hart = plan.harts[i];
        if (hart.hart_id != hart_id || hart.state != HartState::Started) continue;
        hart.state = HartState::Failed;
        hart.sbi_error = sbi_error != 0 ? sbi_error : -1;  // SBI_ERR_FAILED: validate() wants a non-zero error
        auto* entries = reinterpret_cast<HartInfo*>(plan.boot_info_bytes.data() + info.harts.offset);
        entries[i].state = hart.state;
        entries[i].sbi_error = hart.sbi_error;
        plan_detail::write_boot_info(plan, memory);
        return {};
    }
    return plan_detail::fail(PlanErrorCode::UnknownHart, {}, HartRef{hart_id});
}

// The boot hart's rdtime and rdinstret just before the jump.
template <PhysicalMemory P>
void set_handoff_timestamps(Plan& plan, std::uint64_t time, std::uint64_t instret, P& memory) {
    auto& info = *reinterpret_cast<BootInfo*>(plan.boot_info_bytes.data());
    info.timestamps.handoff_time = time;
    info.timestamps.handoff_instret = instret;
    plan_detail::write_boot_info(plan, memory);
}

}  // namespace loader_api
