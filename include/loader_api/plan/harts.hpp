#pragma once
// The harts: which can run the kernel in a paging mode (mmu-type and the
// boot hart's satp probe), which LoaderConfig starts, and each started
// hart's stack and TLS block.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "loader_api/plan/common.hpp"
#include "loader_api/plan/segments.hpp"
#include "loader_api/plan/physical_io.hpp"

namespace loader_api {

namespace plan_detail {

struct HartMode {
    bool usable = false;
    kmem::PagingModeId max{};
};

// The mode an mmu-type string names: "riscv,sv39", "riscv,sv48" or
// "riscv,sv57", else none (usable false). One pass over the common part,
// where a comparison per string cost a memcmp call each, for every hart.
constexpr HartMode mmu_type_mode(std::string_view type) {
    constexpr std::string_view kPrefix = "riscv,sv";
    if (type.size() != kPrefix.size() + 2) return {};
    if (std::is_constant_evaluated()) {
        if (type.substr(0, kPrefix.size()) != kPrefix) return {};
    } else {
        // One load and compare for the eight bytes, not a loop over them.
        constexpr auto kPrefixWord = std::bit_cast<std::uint64_t>(std::array{'r', 'i', 's', 'c', 'v', ',', 's', 'v'});
        std::uint64_t word = 0;
        __builtin_memcpy(&word, type.data(), sizeof word);
        if (word != kPrefixWord) return {};
    }
    const char tens = type[kPrefix.size()];
    const char ones = type[kPrefix.size() + 1];
    if (tens == '3' && ones == '9') return {true, kmem::PagingModeId::Sv39};
    if (tens == '4' && ones == '8') return {true, kmem::PagingModeId::Sv48};
    if (tens == '5' && ones == '7') return {true, kmem::PagingModeId::Sv57};
    return {};
}

// The widest mode a hart's mmu-type names; harts that are not "okay" or
// name no Sv39/48/57 MMU cannot run the kernel.
constexpr HartMode hart_mode(const fdt::Hart& hart) {
    if (!hart.enabled() || !hart.has_mmu_type) return {};
    return mmu_type_mode(hart.mmu_type);
}

constexpr bool mode_at_least(kmem::PagingModeId have, kmem::PagingModeId want) {
    return static_cast<unsigned>(have) >= static_cast<unsigned>(want);
}

// mmu-type names the widest mode a hart implements, but device trees
// understate it (QEMU 7.2 writes "riscv,sv48" for harts that implement
// Sv57). The boot hart's satp probe is direct evidence, so harts described
// exactly like the boot hart (same mmu-type) are taken to implement what the
// probe found; a hart described differently keeps its own mmu-type.
// The mode effective_hart_mode gives a hart described like the boot hart,
// whose mmu-type decodes to boot_type: the widest the probe found.
constexpr HartMode probed_mode(HartMode boot_type, PagingModeSet probed) {
    if (!boot_type.usable) return boot_type;
    for (auto widest : {kmem::PagingModeId::Sv57, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv39})
        if (probed.contains(widest)) return {true, widest};
    return boot_type;
}

// For a loop over the harts: boot_type and probed_mode computed once.
constexpr HartMode effective_hart_mode(const fdt::Hart& hart, HartMode boot_type, HartMode probed) {
    const HartMode mode = hart_mode(hart);
    // A usable hart's mmu-type is one of the three strings, so the boot
    // hart's is the same string exactly when it names the same mode.
    if (!mode.usable || !boot_type.usable || boot_type.max != mode.max) return mode;
    return probed;
}

constexpr HartMode effective_hart_mode(const fdt::Hart& hart, const fdt::Hart& boot, PagingModeSet probed) {
    const HartMode boot_type = mmu_type_mode(boot.mmu_type);
    return effective_hart_mode(hart, boot_type, probed_mode(boot_type, probed));
}

struct HartCounts {
    std::uint64_t started = 0;
    std::uint64_t usable = 0;  // can run the mode: started or not
    std::uint64_t narrow = 0;  // name an MMU, but one too narrow for the mode
};

// Fills plan.harts for `mode`: every hart of the device tree, sorted by id;
// those that can run the mode Started as LoaderConfig selects (the boot hart
// always), else NotStarted; the others (disabled, no or an unknown
// mmu-type, one too narrow for the mode) Unusable, so that the kernel sees
// every cpu the tree lists (protocol 1.1). Warns of nothing: the planner
// tries modes until one fits, and warns for that one (warn_excluded_harts).
inline HartCounts select_harts(BasicPlan& plan, const PlanOptions& options, kmem::PagingModeId mode) {
    const fdt::BasicMachineInfo& machine = plan.machine;
    const HartMode boot_type = mmu_type_mode(machine.find_hart(options.boot_hart_id)->mmu_type);
    const HartMode probed = probed_mode(boot_type, options.supported_modes);
    plan.harts.clear();
    HartCounts counts;
    for (const fdt::Hart& hart : machine.harts) {
        const HartMode hm = effective_hart_mode(hart, boot_type, probed);
        HartPlan entry{};
        entry.hart_id = hart.hart_id;
        if (!hm.usable) {
            entry.state = HartState::Unusable;
        } else if (!mode_at_least(hm.max, mode)) {
            entry.state = HartState::Unusable;
            ++counts.narrow;
        } else {
            ++counts.usable;
        }
        (void)plan.harts.push(entry);  // as long as machine.harts (use_storage)
    }
    plan_detail::sort(plan.harts.begin(), plan.harts.end(),
                      [](const HartPlan& a, const HartPlan& b) { return a.hart_id < b.hart_id; });
    const LoaderConfig& config = plan.config;
    const std::uint64_t boot = options.boot_hart_id;
    std::uint64_t limit = counts.usable;
    if (config.start_harts == HartSelection::BootHartOnly) limit = 1;
    if (config.start_harts == HartSelection::UpTo) limit = config.max_harts == 0 ? 1 : config.max_harts;
    for (HartPlan& hart : plan.harts) {
        if (hart.hart_id == boot) {
            hart.state = HartState::Started;
            ++counts.started;
        }
    }
    for (HartPlan& hart : plan.harts) {
        if (hart.state != HartState::NotStarted || counts.started >= limit) continue;
        hart.state = HartState::Started;
        ++counts.started;
    }
    return counts;
}

// The warnings for the mode chosen, select_harts' `counts` for it: each
// hart too narrow for it (device tree order), then the usable harts
// LoaderConfig leaves stopped.
inline void warn_excluded_harts(BasicPlan& plan, const PlanOptions& options, kmem::PagingModeId mode,
                                const HartCounts& counts) {
    if (counts.narrow > 0) {
        const HartMode boot_type = mmu_type_mode(plan.machine.find_hart(options.boot_hart_id)->mmu_type);
        const HartMode probed = probed_mode(boot_type, options.supported_modes);
        for (const fdt::Hart& hart : plan.machine.harts) {
            const HartMode hm = effective_hart_mode(hart, boot_type, probed);
            if (hm.usable && !mode_at_least(hm.max, mode))
                warn(plan, WarningCode::HartWithoutPagingMode, hart.hart_id, 0, hart.mmu_type);
        }
    }
    if (counts.usable > counts.started) warn(plan, WarningCode::HartsNotStarted, counts.usable - counts.started);
}

// Stacks in the stack block (plan.stats.stacks), a guard page below each,
// and one TLS block per started hart, initialised from the (relocated) kernel.
template <PhysicalMemory P>
Result<void> allocate_stacks_and_tls(BasicPlan& plan, P& memory, const ElfFile& elf, const KernelImage& image) {
    const std::uint64_t stack_size = plan.config.stack_size;
    const std::uint64_t base = plan.stats.stacks.block.begin().value();
    std::uint64_t slot = 0;
    for (HartPlan& hart : plan.harts) {
        if (hart.state != HartState::Started) continue;
        const std::uint64_t guard = base + slot * (stack_size + k4K);
        ++slot;
        hart.stack = {VirtualAddress(guard + k4K), VirtualAddress(guard + k4K + stack_size)};
        hart.sp = hart.stack.end();
        hart.stack_frames = KMEM_TRY(allocate(plan, stack_size, k4K, MemoryRegionKind::KernelStack, "stack", hart.hart_id));
    }
    const std::uint64_t started = slot;
    const TlsSegment tls = elf.tls();
    if (!tls.present || tls.memsz == 0) return {};
    const std::uint64_t alignment = tls.align < 8 ? 8 : tls.align;
    const std::uint64_t tls_stride = round_up(tls.memsz, alignment);
    const PhysicalRange tls_frames = KMEM_TRY(allocate(plan, tls_stride * started, alignment < k4K ? k4K : alignment,
                                                       MemoryRegionKind::Tls, "TLS blocks", kNoIndex));
    // One block, relocated as the kernel sees it, then copied per hart.
    zero_physical(memory, tls_frames);
    std::byte chunk[256];
    for (std::uint64_t done = 0; done < tls.init_image.size();) {
        std::uint64_t n = tls.init_image.size() - done;
        if (n > sizeof chunk) n = sizeof chunk;
        read_kernel(memory, elf, image, tls.vaddr.value() + done, {chunk, static_cast<std::size_t>(n)});
        std::uint64_t at = tls_frames.begin().value() + done;
        for (std::uint64_t k = 0; k < started; ++k, at += tls_stride)
            write_physical(memory, PhysicalAddress(at), {chunk, static_cast<std::size_t>(n)});
        done += n;
    }
    std::uint64_t index = 0;
    for (HartPlan& hart : plan.harts) {
        if (hart.state != HartState::Started) continue;
        const PhysicalAddress block = tls_frames.begin() + index * tls_stride;
        ++index;
        hart.tls_frames = {block, block + tls_stride};
        hart.tp = VirtualAddress(block.value() + plan.physmap_offset);
        hart.tls = {hart.tp, hart.tp + tls.memsz};
    }
    return {};
}

}  // namespace plan_detail

}  // namespace loader_api
