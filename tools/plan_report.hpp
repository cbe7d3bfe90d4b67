#pragma once
// loader-plan's default output: the plan as a readable report, one section
// per decision (inputs, mode and layout, harts, physical memory, virtual
// layout, page tables, KASLR, warnings).

#include <string>

#include "loader_api/plan.hpp"
#include "plan_context.hpp"
#include "tool_text.hpp"

namespace loader_plan {

inline std::string flags_text(const kmem::PageFlags& flags, bool mapped) {
    if (!mapped) return "unmapped";
    std::string text;
    text += flags.read ? 'r' : '-';
    text += flags.write ? 'w' : '-';
    text += flags.execute ? 'x' : '-';
    if (flags.global) text += 'g';
    if (flags.user) text += 'u';
    return text;
}

inline std::string area_label(const loader_api::VirtualArea& area) {
    std::string label(area.label);
    if (area.index == loader_api::kNoIndex) return label;
    switch (area.kind) {
        case loader_api::AreaKind::Stack:
        case loader_api::AreaKind::Guard: return label + " hart " + dec(area.index);
        case loader_api::AreaKind::Kernel: return label + " phdr " + dec(area.index);
        default: return label + " #" + dec(area.index);
    }
}

inline std::string allocation_label(const loader_api::Allocation& allocation) {
    std::string label(allocation.label);
    if (allocation.index == loader_api::kNoIndex) return label;
    if (allocation.kind == loader_api::MemoryRegionKind::Kernel) return label + " phdr " + dec(allocation.index);
    return label + " hart " + dec(allocation.index);
}

inline std::string mode_name(kmem::PagingModeId mode) { return std::string(kmem::name(mode)); }

inline std::string report(const Context& context) {
    using loader_api::HartState;
    using Align = Table::Align;
    const loader_api::Plan& plan = *context.plan;
    const loader_api::BootInfo& info = plan.boot_info();
    std::string out;

    out += "loader-plan: " + context.dtb_path + " + " + context.kernel_path + "\n";
    out += "\nSimulated inputs (where the loader would find them)\n";
    {
        Table table({"what", "begin", "end", "size"}, {Align::Left, Align::Right, Align::Right, Align::Right});
        auto row = [&](const char* what, kmem::PhysicalRange range) {
            table.add({what, hex(range.begin().value()), hex(range.end().value()), readable_size(range.size())});
        };
        row("loader text", context.loader_text);
        row("  kernel file", context.kernel_file);
        row("loader data", context.loader_data);
        row("device tree", context.device_tree);
        if (context.firmware_added) row("OpenSBI", context.firmware);
        table.print(out);
        if (context.firmware_added)
            out += "  OpenSBI: added to the tree as /memreserve/, as OpenSBI reserves it at run time (--tree-as-is: not)\n";
        out += "  boot hart " + dec(context.boot_hart) + (context.boot_hart_given ? " (--boot-hart)" : " (first hart with an MMU)") +
               "; entropy: " + to_text(context.entropy);
        if (context.entropy != EntropySource::None) out += " (" + dec(context.entropy_bytes) + " bytes)";
        if (context.entropy == EntropySource::Seed && context.rng_seed_bytes != 0)
            out += ", hashed with /chosen/rng-seed (" + dec(context.rng_seed_bytes) + " bytes)";
        out += "\n";
    }

    out += "\nPlan\n";
    {
        Table table({"", ""});
        std::string mode = mode_name(plan.mode) + " (probe accepts up to " + mode_name(context.probed) +
                           (context.probe_given ? ", --probe" : ", the boot hart's mmu-type");
        if (context.mode_capped) mode += "; capped at " + mode_name(context.mode_cap) + " by --mode";
        table.add({"paging mode", mode + ")"});
        table.add({"satp", hex(plan.satp) + " (root table at " + hex(plan.root.value()) + ")"});
        table.add({"entry", hex(plan.entry.value())});
        table.add({"kernel", text_of(plan.kernel_virtual) + ", slide " + hex(plan.kaslr_slide) +
                                 (plan.kaslr ? " (KASLR)" : " (not randomised)")});
        table.add({"physmap", text_of(plan.physmap) + ", offset " + hex(plan.physmap_offset)});
        table.add({"BootInfo", hex(plan.boot_info_virtual.value()) + " (physical " + hex(plan.boot_info_physical.value()) +
                                   ", " + readable_size(plan.boot_info_size) + ")"});
        const auto& config = plan.config;
        table.add({"LoaderConfig",
                   "stack " + readable_size(config.stack_size) + ", modes " +
                       std::string(loader_api::to_string(config.min_paging_mode)) + ".." +
                       std::string(loader_api::to_string(config.max_paging_mode)) + " preferred " +
                       std::string(loader_api::to_string(config.preferred_paging_mode)) + ", kaslr " +
                       std::string(loader_api::to_string(config.kaslr)) + ", harts " +
                       std::string(loader_api::to_string(config.start_harts)) +
                       (config.start_harts == loader_api::HartSelection::UpTo ? " " + dec(config.max_harts) : "")});
        if (!info.cmdline().empty()) table.add({"command line", "\"" + std::string(info.cmdline()) + "\""});
        table.add({"timebase", dec(info.timebase_frequency) + " Hz"});
        table.print(out);
    }

    std::size_t started = 0;
    for (const auto& hart : plan.harts) started += hart.state == HartState::Started;
    out += "\nHarts (" + dec(plan.harts.size()) + ", " + dec(started) + " started)\n";
    {
        Table table({"hart", "state", "stack", "size", "tls", "stack frames", "tls frames"},
                    {Align::Right, Align::Left, Align::Left, Align::Right, Align::Left, Align::Left, Align::Left});
        for (const auto& hart : plan.harts) {
            const bool has_stack = !hart.stack.empty();
            std::string state(loader_api::to_string(hart.state));
            if (hart.hart_id == info.boot_hart_id) state += " (boot)";
            table.add({dec(hart.hart_id), state, has_stack ? text_of(hart.stack) : "-",
                       has_stack ? readable_size(hart.stack.size()) : "",
                       hart.tls.empty() ? "-" : text_of(hart.tls), has_stack ? text_of(hart.stack_frames) : "-",
                       hart.tls_frames.empty() ? "-" : text_of(hart.tls_frames)});
        }
        table.print(out);
    }

    out += "\nPhysical memory map (BootInfo, " + dec(plan.regions.size()) + " regions)\n";
    {
        Table table({"begin", "end", "size", "kind"}, {Align::Right, Align::Right, Align::Right, Align::Left});
        std::uint64_t total = 0;
        for (const auto& region : plan.regions) {
            table.add({hex(region.range.begin), hex(region.range.end), readable_size(region.range.size()),
                       std::string(loader_api::to_string(region.kind))});
            total += region.range.size();
        }
        table.print(out);
        out += "  RAM " + readable_size(total) + "\n";
    }

    out += "\nAllocations (" + dec(plan.allocations.size()) + ")\n";
    {
        Table table({"begin", "end", "size", "kind", "origin", "label"},
                    {Align::Right, Align::Right, Align::Right, Align::Left, Align::Left, Align::Left});
        std::vector<const loader_api::Allocation*> sorted;
        for (const auto& allocation : plan.allocations) sorted.push_back(&allocation);
        // Ties in list order (pointers into one array); not stable_sort,
        // whose temporary buffer clang 19 flags as deprecated in libstdc++ 12.
        std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
            return a->range.begin() != b->range.begin() ? a->range.begin() < b->range.begin() : a < b;
        });
        for (const auto* allocation : sorted)
            table.add({hex(allocation->range.begin().value()), hex(allocation->range.end().value()),
                       readable_size(allocation->range.size()), std::string(loader_api::to_string(allocation->kind)),
                       std::string(loader_api::to_string(allocation->origin)), allocation_label(*allocation)});
        table.print(out);
        out += "  taken by the planner: " + readable_size(plan.stats.allocated_bytes) + "\n";
    }

    out += "\nVirtual layout (" + dec(plan.areas.size()) + " areas)\n";
    {
        Table table({"begin", "end", "size", "physical", "flags", "label"},
                    {Align::Right, Align::Right, Align::Right, Align::Right, Align::Left, Align::Left});
        for (const auto& area : plan.areas)
            table.add({hex(area.range.begin().value()), hex(area.range.end().value()), readable_size(area.range.size()),
                       area.mapped ? hex(area.physical.value()) : "-", flags_text(area.flags, area.mapped),
                       area_label(area)});
        table.print(out);
    }

    out += "\nPage tables\n";
    {
        const auto& stats = plan.stats;
        out += "  frames used " + dec(stats.table_frames) + " (" + readable_size(stats.table_frames * kmem::kPageSize) +
               "), minimum for these leaves " + dec(context.minimum_table_frames) + "\n";
        std::string leaves = "  leaves:";
        constexpr const char* kSizes[] = {"4 KiB", "2 MiB", "1 GiB", "512 GiB", "256 TiB"};
        for (int level = 0; level < 5; ++level)
            if (stats.leaves[level] != 0) leaves += " " + dec(stats.leaves[level]) + " x " + kSizes[level];
        out += leaves + "\n";
        out += "  kernel: " + readable_size(stats.in_place_kernel_bytes) + " mapped in place, " +
               readable_size(stats.copied_kernel_bytes) + " copied, " + dec(stats.relocations) + " relocations applied\n";
    }

    out += "\nKASLR (" + std::string(plan.kaslr ? "kernel randomised" : "kernel not randomised") + ")\n";
    {
        Table table({"area", "block", "size", "granularity", "positions", "placed"},
                    {Align::Left, Align::Left, Align::Right, Align::Right, Align::Right, Align::Left});
        auto row = [&](const char* name, const loader_api::Placement& placement) {
            table.add({name, text_of(placement.block), readable_size(placement.block.size()),
                       placement.granularity != 0 ? readable_size(placement.granularity) : "-", dec(placement.positions),
                       placement.randomised ? "random" : "fixed"});
        };
        row("physmap", plan.stats.physmap);
        row("kernel", plan.stats.kernel);
        row("stacks", plan.stats.stacks);
        table.print(out);
        out += "  kernel slide " + hex(plan.kaslr_slide) + ", physmap offset " + hex(plan.physmap_offset) + "\n";
    }

    out += "\nWarnings (" + dec(plan.warnings.size() + plan.warnings_dropped) + ")\n";
    for (const auto& warning : plan.warnings) out += "  " + text_of(warning) + "\n";
    if (plan.warnings_dropped != 0) out += "  ... and " + dec(plan.warnings_dropped) + " more not recorded\n";
    if (plan.warnings.empty() && plan.warnings_dropped == 0) out += "  none\n";
    if (context.firmware_unreserved)
        out += "  note: the tree reserves nothing of " + text_of(context.firmware) +
               ", where OpenSBI lives on QEMU\n"
               "        (--tree-as-is): this plan may use frames there that the real boot would not\n";
    return out;
}

}  // namespace loader_plan
