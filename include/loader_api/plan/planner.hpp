#pragma once
// The boot planner: make_plan(input, plan, memory) turns the device tree,
// the kernel ELF and the loader's options into a complete Plan (page tables
// built in `memory`, BootInfo written, every allocation listed) or a
// PlanError naming the cause. Same code on the loader (IdentityPhysicalMemory)
// and on the host (host::SimulatedMemory). docs/design.md ("The planner")
// records the rules; the short version:
//
// Paging mode: candidates in LoaderConfig's order (preferred, then lower
// modes down to min, then higher ones up to max), kept when the boot hart's
// probe (which outranks an mmu-type equal to the boot hart's, see
// effective_hart_mode) and the loader.paging= cap allow them; the first one
// whose higher half holds the physmap, the kernel and the stacks wins.
//
// Virtual layout, in the higher half [upper half start, 2^64 - 4 KiB):
// physmap block (1 GiB aligned, so 1 GiB pages wherever RAM allows), kernel
// block (2 MiB aligned or the largest PT_LOAD p_align), stack block (2 MiB
// aligned, per hart a guard page then the stack). With KASLR each block
// starts at a uniformly chosen valid position; without, the physmap is
// lowest, the kernel stays at its link address (or goes to the top if that
// is not in the higher half) and the stacks sit below the highest free spot.
// A position is valid only if the blocks still to be placed fit afterwards.
//
// Physical memory: lowest-first frames (kmem::FrameAllocator) from RAM minus
// reserved memory and the inputs; dynamic /reserved-memory children are not
// allocated (a warning names them; the kernel reads them from the tree).
//
// Each phase has its own header: plan/config.hpp (LoaderConfig),
// plan/harts.hpp, plan/layout.hpp (the virtual layout), plan/segments.hpp (the kernel image),
// plan/page_tables.hpp, plan/memory_map.hpp, plan/boot_info_block.hpp; this
// one reads the inputs, picks the paging mode and runs the phases in order.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "loader_api/plan/boot_info_block.hpp"
#include "loader_api/plan/common.hpp"
#include "loader_api/plan/config.hpp"
#include "loader_api/plan/harts.hpp"
#include "loader_api/plan/segments.hpp"
#include "loader_api/plan/layout.hpp"
#include "loader_api/plan/memory_map.hpp"
#include "loader_api/plan/page_tables.hpp"
#include "loader_api/plan/physical_io.hpp"
#include "loader_api/plan/random.hpp"
#include "loader_api/plan/types.hpp"

namespace loader_api {

namespace plan_detail {

inline Result<void> check_in_ram(const BasicPlan& plan, PhysicalRange range, std::string_view what) {
    if (range.empty()) return {};
    if (!plan.workspace.ram.contains(range))
        return fail(PlanErrorCode::InputOutsideRam, what, PhysicalPlace{range});
    return {};
}

// U-Boot records the initrd it placed as a /memreserve/ of exactly its range
// (fdt_initrd). That entry names the initrd, not firmware memory: the initrd
// (or the kernel file, when the initrd carries the kernel) is reported as
// such, and nothing else is placed there either way.
inline bool reserves_initrd(const BasicPlan& plan, const fdt::ReservedRange& reserved) {
    const fdt::Chosen& chosen = plan.machine.chosen;
    return reserved.source == fdt::ReservationSource::kMemReserve && chosen.has_initrd && !chosen.initrd.empty() &&
           reserved.range == chosen.initrd;
}

// Any other initrd that shares a page with an input is a wrong /chosen
// (stale addresses, a tree edited by hand): passing it on would hand the
// kernel the loader's or the tree's bytes as its initrd, and ignoring it
// would boot without the initrd the firmware meant to give.
inline Result<void> check_initrd_apart(const PlanOptions& options, const Inputs& found) {
    const PhysicalRange text = options.loader_text;
    const PhysicalRange data = options.loader_data;
    // Named as one image when the two touch, as the reference loader's do:
    // that is the range a user finds in the firmware's log or the ELF file.
    const bool one_image = !text.empty() && !data.empty() && text.end() == data.begin();
    struct Input {
        PhysicalRange range;
        std::string_view what;
    };
    // The loader before the kernel file: an embedded kernel lies inside the
    // loader image, and the image is what the user placed.
    const Input inputs[] = {
        {found.device_tree, "device tree"},
        {one_image ? PhysicalRange(text.begin(), data.end()) : text, one_image ? "loader image" : "loader text"},
        {one_image ? PhysicalRange{} : data, "loader data"},
        {found.kernel_file, "kernel file"},
    };
    // Pages, not bytes: the memory map gives each page one kind, so an
    // initrd that only shares a page with an input cannot be described either.
    for (const Input& input : inputs) {
        if (!page_span(found.initrd).overlaps(page_span(input.range))) continue;
        return fail(PlanErrorCode::InitrdOverlapsInput, input.what, InputOverlap{found.initrd, input.range});
    }
    return {};
}

// The device tree (into plan.machine), the kernel ELF and its LoaderConfig
// (into plan.config), RAM (plan.workspace.ram), where the inputs lie, the
// boot hart and the entropy, each checked.
inline Result<Inputs> read_inputs(const PlanInput& in, BasicPlan& plan) {
    Inputs found;
    // Device tree.
    const fdt::Fdt fdt = KMEM_TRY(fdt::Fdt::create(in.device_tree).map_error(caused_by(PlanErrorCode::DeviceTree)));
    if (in.machine != nullptr) {
        if (in.machine != &plan.machine) {
            if (in.machine->harts.size() > plan.machine.harts.capacity())
                return capacity_exceeded("harts", plan.machine.harts.capacity());
            plan.machine = *in.machine;
        }
    } else {
        KMEM_TRY(fdt::read_machine_info(fdt, plan.machine).map_error(caused_by(PlanErrorCode::DeviceTree)));
    }
    const fdt::BasicMachineInfo& machine = plan.machine;

    // Kernel.
    found.elf = KMEM_TRY(ElfFile::parse(in.kernel).map_error(caused_by(PlanErrorCode::KernelElf)));
    plan.config = KMEM_TRY(read_config(found.elf));
    const LoaderConfig& config = plan.config;
    if (config.allow_write_execute == 0)
        KMEM_TRY(found.elf.check_no_write_execute().map_error(caused_by(PlanErrorCode::WriteExecute)));
    KMEM_TRY(found.elf.check_entry_executable().map_error(caused_by(PlanErrorCode::EntryNotExecutable)));
    // The kernel is entered through stvec, whose two low bits are MODE: an
    // entry at 4n+2 (legal with the C extension) would trap to 4n, or
    // vector, and hang. The slide keeps the low bits (2 MiB multiples).
    if (found.elf.entry().value() % 4 != 0) return fail(PlanErrorCode::EntryMisaligned, {}, LinkedAddress{found.elf.entry()});

    // RAM, as whole pages.
    auto& ram = plan.workspace.ram;
    ram.clear();
    plan.workspace.unmapped_ram.clear();  // a Plan may be reused: nothing of an earlier machine stays
    for (const fdt::MemoryRange& range : machine.memory) {
        const auto begin = range.range.begin().align_up(k4K);
        const PhysicalAddress end = range.range.end().align_down(k4K);
        if (!begin || *begin >= end) continue;
        // No hart can address it, and a page table frame placed there could
        // not be written into a PTE: a tree that claims it is wrong.
        if (end.value() > kmem::kPhysicalAddressLimit)
            return fail(PlanErrorCode::RamBeyondPhysicalAddresses, range.node, PhysicalPlace{range.range});
        if (!ram.insert({*begin, end}))
            return capacity_exceeded("RAM ranges", kPlanMaxRamRanges);
    }
    if (ram.empty()) return fail(PlanErrorCode::NoRam);
    found.ram_low = kmem::align_down(ram[0].begin().value(), k1G);

    // Inputs must lie in RAM: the kernel is told about them by region.
    found.device_tree = {in.device_tree_address, in.device_tree_address + machine.fdt_size};
    found.kernel_file = {in.kernel_address, in.kernel_address + in.kernel.size()};
    // A loader without a kernel of its own takes the kernel from the initrd;
    // then the initrd is the kernel file (exactly its range), and the kernel
    // is told of none.
    if (machine.chosen.has_initrd && machine.chosen.initrd != found.kernel_file) found.initrd = machine.chosen.initrd;
    KMEM_TRY(check_in_ram(plan, found.device_tree, "device tree"));
    KMEM_TRY(check_in_ram(plan, found.kernel_file, "kernel file"));
    KMEM_TRY(check_in_ram(plan, found.initrd, "initrd"));
    KMEM_TRY(check_in_ram(plan, in.options.loader_text, "loader text"));
    KMEM_TRY(check_in_ram(plan, in.options.loader_data, "loader data"));
    KMEM_TRY(check_initrd_apart(in.options, found));
    const PhysicalRange text_pages = page_span(in.options.loader_text);
    const PhysicalRange data_pages = page_span(in.options.loader_data);
    if (text_pages.overlaps(data_pages))
        return fail(PlanErrorCode::LoaderRangesSharePage, {}, PhysicalPlace{text_pages.intersection(data_pages)});

    // Boot hart: the one the loader runs on. U-Boot also names it in /chosen.
    if (machine.chosen.has_boot_hartid && machine.chosen.boot_hartid != in.options.boot_hart_id)
        warn(plan, WarningCode::BootHartMismatch, machine.chosen.boot_hartid, in.options.boot_hart_id);
    const fdt::Hart* boot = machine.find_hart(in.options.boot_hart_id);
    if (boot == nullptr) return fail(PlanErrorCode::BootHartNotFound, {}, HartRef{in.options.boot_hart_id});
    if (!hart_mode(*boot).usable) {
        std::string_view why = !boot->enabled()        ? "is not enabled (status)"
                               : !boot->has_mmu_type   ? "has no mmu-type (no MMU for S-mode paging)"
                                                       : "has an mmu-type without Sv39/Sv48/Sv57";
        return fail(PlanErrorCode::NoSModeHart, why, HartRef{in.options.boot_hart_id});
    }

    // Entropy.
    plan_random::Hasher hasher;
    hasher.add(machine.chosen.rng_seed);
    hasher.add(in.options.entropy);
    found.key = hasher.finish();
    found.entropy_sources = (machine.chosen.rng_seed.empty() ? 0 : kEntropyDeviceTree) |
                       (in.options.entropy.empty() ? 0 : in.options.entropy_sources);
    // loader.kaslr=off outranks the kernel's own wish: it is how a developer
    // gets a kernel whose symbols a debugger can use as linked, and a kernel
    // cannot count on KASLR anyway (without entropy it is off too).
    found.kaslr_wanted = !in.options.kaslr_off &&
                    (config.kaslr == Kaslr::Enabled || (config.kaslr == Kaslr::Default && in.options.kaslr_default));
    if (!found.have_entropy()) warn(plan, WarningCode::NoEntropy);
    // Only a kernel that asked for KASLR itself is told it cannot have it: the
    // loader's default applies to whatever kernel it is given.
    if (config.kaslr == Kaslr::Enabled && found.have_entropy() && !in.options.kaslr_off && !found.elf.is_pie())
        warn(plan, WarningCode::KernelNotRelocatable, found.elf.image_range().begin().value());
    for (const fdt::DynamicReservation& dynamic : machine.dynamic_reservations)
        warn(plan, WarningCode::DynamicReservationLeft, dynamic.size, dynamic.alignment, dynamic.node);
    return found;
}

// The paging mode and the virtual layout (plan.mode, physmap_offset,
// kaslr_slide, stats), and the harts for that mode.
inline Result<void> choose_mode_and_layout(BasicPlan& plan, const PlanOptions& options, const Inputs& in) {
    const LoaderConfig& config = plan.config;
    const fdt::Hart* boot = plan.machine.find_hart(options.boot_hart_id);
    const HartMode boot_mode = effective_hart_mode(*boot, *boot, options.supported_modes);

    // LoaderConfig's order: preferred, then down to min, then up to max.
    const auto min = static_cast<unsigned>(to_mode_id(config.min_paging_mode));
    const auto max = static_cast<unsigned>(to_mode_id(config.max_paging_mode));
    unsigned preferred = static_cast<unsigned>(to_mode_id(config.preferred_paging_mode));
    if (preferred < min) preferred = min;
    if (preferred > max) preferred = max;
    std::array<kmem::PagingModeId, 3> order{};
    std::size_t count = 0;
    for (unsigned m = preferred + 1; m-- > min;) order[count++] = static_cast<kmem::PagingModeId>(m);
    for (unsigned m = preferred + 1; m <= max; ++m) order[count++] = static_cast<kmem::PagingModeId>(m);

    std::array<kmem::PagingModeId, 3> allowed{};
    std::size_t allowed_count = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const kmem::PagingModeId mode = order[i];
        if (!options.supported_modes.contains(mode)) continue;
        if (options.has_mode_cap && !mode_at_least(options.mode_cap, mode)) continue;
        if (!mode_at_least(boot_mode.max, mode)) continue;
        allowed[allowed_count++] = mode;
    }
    if (allowed_count == 0) {
        std::string_view why = "the boot hart supports none of LoaderConfig's [min_paging_mode, max_paging_mode]";
        if (options.has_mode_cap) why = "LoaderConfig's range, the hart's modes and loader.paging= exclude every mode";
        return fail(PlanErrorCode::NoPagingMode, why,
                    ModeChoice{options.supported_modes, options.has_mode_cap, options.mode_cap});
    }

    const auto& ram = plan.workspace.ram;
    const std::uint64_t ram_high = round_up(ram[ram.size() - 1].end().value(), k1G);
    // Kernel block: at least 2 MiB granularity, more if a segment asks for it.
    std::uint64_t granularity = k2M;
    for (const Segment segment : in.elf.load_segments())
        if (segment.memsz != 0 && segment.align > granularity && segment.align <= k1G) granularity = segment.align;
    const VirtualRange image = in.elf.image_range();
    const std::uint64_t link_low = kmem::align_down(image.begin().value(), granularity);
    const std::uint64_t link_high = round_up(image.end().value(), granularity);

    PlanError first_error{};
    bool have_error = false;
    // Two passes: a physmap of all RAM in any allowed mode; else, in the
    // first mode that can, a physmap of the lowest RAM that fits (the boot
    // node, where firmware, loader, kernel and tree lie), the rest left to
    // the kernel as UsableUnmapped.
    for (std::size_t attempt = 0; attempt < 2 * allowed_count; ++attempt) {
        const std::size_t i = attempt % allowed_count;
        const bool truncate = attempt >= allowed_count;
        if (truncate && (!have_error || first_error.code != PlanErrorCode::RamTooLargeForPhysmap)) break;
        const kmem::PagingModeId mode = allowed[i];
        const unsigned va_bits = kmem::RuntimePagingMode(mode).va_bits();
        // The loader's image must be identity-mappable in the lower half.
        const std::uint64_t lower_end = kmem::lower_half_end(va_bits);
        bool identity_ok = true;
        for (const PhysicalRange range : {options.loader_text, options.loader_data}) {
            if (!options.identity_map_loader || range.empty() || page_span(range).end().value() <= lower_end) continue;
            if (identity_ok && !have_error) {
                first_error = PlanError(PlanErrorCode::LoaderNotIdentityMappable, {}, PhysicalPlace{range, mode});
                have_error = true;
            }
            identity_ok = false;
        }
        if (!identity_ok) continue;
        const HartCounts harts = select_harts(plan, options, mode);
        const std::uint64_t started = harts.started;
        LayoutRequest request;
        request.va_bits = va_bits;
        request.physmap_size = ram_high - in.ram_low;
        request.kernel_link = link_low;
        request.kernel_size = link_high - link_low;
        request.kernel_granularity = granularity;
        request.kernel_movable = in.elf.is_pie();
        request.stacks_size = round_up(started * (plan.config.stack_size + k4K), k2M);
        if (truncate) {
            // The window less the kernel (with its alignment slack) and the
            // stacks, each rounded to the physmap's 1 GiB granularity.
            const std::uint64_t window = kWindowEnd - kmem::upper_half_begin(va_bits);
            const std::uint64_t others = round_up(request.kernel_size + granularity, k1G) + round_up(request.stacks_size, k1G);
            if (window <= others + k1G) continue;
            request.physmap_size = kmem::align_down(window - others, k1G);
            if (request.physmap_size >= ram_high - in.ram_low) continue;
        }
        request.randomise = in.kaslr_wanted && in.have_entropy();
        request.key = in.key;
        auto layout = loader_api::plan_layout(request, mode);
        if (!layout) {
            if (!have_error) first_error = layout.error();
            have_error = true;
            continue;
        }
        plan.mode = mode;
        plan.stats.physmap = layout->physmap;
        plan.stats.kernel = layout->kernel;
        plan.stats.stacks = layout->stacks;
        plan.physmap_offset = layout->physmap.block.begin().value() - in.ram_low;
        plan.kaslr_slide = layout->kernel.block.begin().value() - link_low;
        plan.kaslr = request.randomise && in.elf.is_pie();
        plan.stats.physmap_offset = plan.physmap_offset;
        plan.stats.kaslr_slide = plan.kaslr_slide;
        warn_excluded_harts(plan, options, mode, harts);
        if (truncate) KMEM_TRY(leave_unmapped(plan, options, in, PhysicalAddress(in.ram_low + request.physmap_size), mode));
        return {};
    }
    return kmem::unexpected(first_error);
}

// Free RAM for the frame allocator, less reserved memory and the inputs,
// each recorded in the allocation list.
inline Result<void> reserve_inputs(BasicPlan& plan, const PlanOptions& options, const Inputs& in) {
    auto& frames = plan.workspace.frames;
    frames = Frames{};
    for (const PhysicalRange range : plan.workspace.ram)
        KMEM_TRY(frames.add_free(range).map_error(caused_by(PlanErrorCode::AllocatorCapacity, "free RAM")));
    auto take = [&](PhysicalRange range, MemoryRegionKind kind, AllocationOrigin origin,
                    std::string_view label) -> Result<void> {
        if (range.empty()) return {};
        KMEM_TRY(record(plan, range, kind, origin, label));
        return frames.reserve(range).map_error(caused_by(PlanErrorCode::AllocatorCapacity, label));
    };
    const fdt::BasicMachineInfo& machine = plan.machine;
    for (const fdt::ReservedRange& reserved : machine.reserved) {
        if (reserves_initrd(plan, reserved)) continue;
        const std::string_view label = reserved.source == fdt::ReservationSource::kMemReserve ? std::string_view("/memreserve/")
                                                                                             : reserved.node;
        const MemoryRegionKind kind = reserved.source == fdt::ReservationSource::kFirmwareRuntimeCode
                                          ? MemoryRegionKind::EfiRuntimeCode
                                      : reserved.source == fdt::ReservationSource::kFirmwareRuntimeData
                                          ? MemoryRegionKind::EfiRuntimeData
                                          : MemoryRegionKind::Reserved;
        KMEM_TRY(take(reserved.range, kind, AllocationOrigin::Firmware, label));
    }
    struct InputRange {
        PhysicalRange range;
        MemoryRegionKind kind;
        std::string_view label;
    };
    const InputRange inputs[] = {
        {options.loader_text, MemoryRegionKind::LoaderReclaimable, "loader text"},
        {options.loader_data, MemoryRegionKind::LoaderReclaimable, "loader data"},
        {in.device_tree, MemoryRegionKind::Fdt, "device tree"},
        {in.initrd, MemoryRegionKind::Initrd, "initrd"},
        {in.kernel_file, MemoryRegionKind::LoaderReclaimable, "kernel file"},
    };
    for (const InputRange& item : inputs) {
        for (const fdt::ReservedRange& reserved : machine.reserved) {
            if (!reserves_initrd(plan, reserved) && page_span(item.range).overlaps(reserved.range)) {
                warn(plan, WarningCode::InputInReservedMemory, item.range.begin().value(), 0, item.label);
                break;
            }
        }
        KMEM_TRY(take(item.range, item.kind, AllocationOrigin::Input, item.label));
    }
    return {};
}

// The virtual areas, for printing: lower half first, ascending.
inline Result<void> list_areas(BasicPlan& plan, const PlanOptions& options, const KernelImage& image) {
    if (options.identity_map_loader) {
        if (!options.loader_text.empty()) {
            const PhysicalRange text = page_span(options.loader_text);
            const kmem::PageFlags flags =
                options.loader_image_rwx
                    ? kmem::PageFlags{.read = true, .write = true, .execute = true, .allow_write_execute = true}
                    : kmem::PageFlags::read_execute();
            KMEM_TRY(add_area(plan, {AreaKind::Identity, "loader text (identity)", kNoIndex,
                                     {VirtualAddress(text.begin().value()), VirtualAddress(text.end().value())},
                                     text.begin(), flags, true, false}));
        }
        if (!options.loader_data.empty()) {
            const PhysicalRange data = page_span(options.loader_data);
            KMEM_TRY(add_area(plan, {AreaKind::Identity, "loader data (identity)", kNoIndex,
                                     {VirtualAddress(data.begin().value()), VirtualAddress(data.end().value())},
                                     data.begin(), kmem::PageFlags::read_write(), true, false}));
        }
    }
    // Block by block in address order (the three blocks are apart, and each
    // is listed ascending), so the sort below finds every area in place
    // rather than moving each hart's two past the blocks above them.
    enum class Block { Physmap, Kernel, Stacks };
    struct Placed {
        std::uint64_t begin;
        Block block;
    };
    Placed blocks[] = {{plan.physmap.begin().value(), Block::Physmap},
                       {plan.kernel_virtual.begin().value(), Block::Kernel},
                       {plan.stats.stacks.block.begin().value(), Block::Stacks}};
    plan_detail::sort(std::begin(blocks), std::end(blocks),
                      [](const Placed& a, const Placed& b) { return a.begin < b.begin; });
    for (const Placed& placed : blocks) {
        if (placed.block == Block::Physmap) {
            KMEM_TRY(add_area(plan, {AreaKind::Physmap, "physmap", kNoIndex, plan.physmap, plan.workspace.ram[0].begin(),
                                     kmem::PageFlags::read_write(), true, false}));
        } else if (placed.block == Block::Kernel) {
            for (std::size_t i = 0; i < image.piece_count; ++i) {
                const KernelPiece& piece = image.pieces[i];
                KMEM_TRY(add_area(plan, {AreaKind::Kernel, piece.copied ? "kernel (copy)" : "kernel (in place)",
                                         piece.segment_index,
                                         {VirtualAddress(piece.link_begin + plan.kaslr_slide),
                                          VirtualAddress(piece.link_end + plan.kaslr_slide)},
                                         piece.frames, piece.flags, true, piece.copied}));
            }
        } else {
            for (const HartPlan& hart : plan.harts) {
                if (hart.state != HartState::Started) continue;
                KMEM_TRY(add_area(plan, {AreaKind::Guard, "guard", hart.hart_id,
                                         {hart.stack.begin() - k4K, hart.stack.begin()}, {}, {}, false, false}));
                KMEM_TRY(add_area(plan, {AreaKind::Stack, "stack", hart.hart_id, hart.stack, hart.stack_frames.begin(),
                                         kmem::PageFlags::read_write(), true, false}));
            }
        }
    }
    plan_detail::sort(plan.areas.begin(), plan.areas.end(),
                      [](const VirtualArea& a, const VirtualArea& b) { return a.range.begin() < b.range.begin(); });
    return {};
}

// PlanOptions::step_counter's readings, as differences per step.
class StepClock {
public:
    StepClock(std::uint64_t (*counter)(), PlanStatistics& stats)
        : counter_(counter), stats_(stats), last_(counter != nullptr ? counter() : 0) {}

    void done(PlanStep step) {
        if (counter_ == nullptr) return;
        const std::uint64_t now = counter_();
        stats_.step_counts[static_cast<std::size_t>(step)] = now - last_;
        last_ = now;
    }

private:
    std::uint64_t (*counter_)();
    PlanStatistics& stats_;
    std::uint64_t last_;
};

// The phases in order; each hands the next what it found (Inputs, the
// KernelImage) or leaves it in the Plan.
template <PhysicalMemory P>
Result<void> run(const PlanInput& input, BasicPlan& plan, P& memory) {
    const PlanOptions& options = input.options;
    StepClock clock(options.step_counter, plan.stats);
    const Inputs in = KMEM_TRY(read_inputs(input, plan));
    clock.done(PlanStep::Inputs);
    KMEM_TRY(choose_mode_and_layout(plan, options, in));
    KMEM_TRY(reserve_inputs(plan, options, in));
    clock.done(PlanStep::Layout);
    KernelImage image{};
    KMEM_TRY(load_kernel(plan, memory, in, image));
    clock.done(PlanStep::Kernel);
    KMEM_TRY(allocate_stacks_and_tls(plan, memory, in.elf, image));
    clock.done(PlanStep::StacksAndTls);
    KMEM_TRY(build_tables(plan, memory, options, image));
    clock.done(PlanStep::PageTables);
    KMEM_TRY(build_boot_info(plan, memory, input, in, image));
    plan.entry = VirtualAddress(in.elf.entry().value() + plan.kaslr_slide);
    KMEM_TRY(list_areas(plan, options, image));
    clock.done(PlanStep::BootInfo);
    return {};
}

}  // namespace plan_detail

// Plans the boot: on success `plan` is complete, its page tables and
// BootInfo are written to `memory`, and the loader only has to start the
// harts (then mark_hart_failed / set_handoff_timestamps) and jump. On error
// `plan` holds whatever was done so far and `memory` may have been written
// in frames that were free.
template <PhysicalMemory P>
kmem::Expected<void, PlanError> make_plan(const PlanInput& input, BasicPlan& plan, P& memory) {
    plan.allocations.clear();
    plan.areas.clear();
    plan.regions.clear();
    plan.harts.clear();
    plan.warnings.clear();
    plan.warnings_dropped = 0;
    plan.stats = {};
    return plan_detail::run(input, plan, memory);
}

}  // namespace loader_api
