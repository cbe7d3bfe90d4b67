#pragma once
// What the boot planner takes and what it gives back: PlanInput, Plan and
// the warnings (PlanError is in plan/errors.hpp). The algorithm is in plan/planner.hpp; this
// header only has data, so a tool that prints plans reads just this. It
// includes what the data is made of (the readers' error types and
// MachineInfo, the frame allocator, BootInfo), not the readers themselves:
// code that parses an ELF file includes loader_api/elf.hpp.
//
// Every list has a capacity (the target has no heap): the kPlanMax*
// constants below, or for the lists that grow with the harts the room the
// plan's owner gave (BasicPlan::use_storage). Running out is a PlanError
// naming the list (CapacityExceeded), never a silent cut.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/bounded_list.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/fixed_list.hpp"
#include "kmem/frame_allocator.hpp"
#include "kmem/range.hpp"
#include "kmem/riscv.hpp"
#include "loader_api/boot_info.hpp"
#include "loader_api/boot_info_builder.hpp"
#include "loader_api/elf/diagnostics.hpp"
#include "loader_api/fdt/machine_info.hpp"
#include "loader_api/fdt/reader.hpp"
#include "loader_api/loader_config.hpp"
#include "loader_api/plan/errors.hpp"
#include "loader_api/plan/paging_modes.hpp"
#include "loader_api/validate.hpp"

namespace loader_api {

// --- Capacities ------------------------------------------------------------

inline constexpr std::size_t kPlanMaxHarts = fdt::kMaxHarts;
inline constexpr std::size_t kPlanMaxKernelSegments = 16;   // PT_LOAD segments with memory
inline constexpr std::size_t kPlanMaxKernelPieces = 32;     // mapped pieces (RELRO and shared pages split segments)
// The lists that grow with the harts have room for these besides them.
inline constexpr std::size_t kPlanAllocationsBesideHarts = 512;
inline constexpr std::size_t kPlanAreasBesideHarts = 64;
inline constexpr std::size_t kPlanMaxAllocations = kPlanMaxHarts + kPlanAllocationsBesideHarts;
inline constexpr std::size_t kPlanMaxAreas = kPlanMaxHarts * 2 + kPlanAreasBesideHarts;  // a stack and a guard per hart
inline constexpr std::size_t kPlanMaxRegions = 1024;        // BootInfo memory map entries
// Memory map pieces of the inputs and reservations (the planner's own
// frames never overlap them): at most the 5 inputs and every reservation.
inline constexpr std::size_t kPlanMaxClaimedRanges = fdt::kMaxReservedRanges + 8;
inline constexpr std::size_t kPlanMaxRamRanges = 256;       // merged RAM ranges
inline constexpr std::size_t kPlanMaxFreeRanges = 1024;     // frame allocator: free set
inline constexpr std::size_t kPlanMaxUsedRanges = 1024;     // frame allocator: used set
inline constexpr std::size_t kPlanMaxCommandLine = 4096;    // bytes of /chosen/bootargs
inline constexpr std::size_t kPlanMaxWarnings = 16;
inline constexpr std::size_t kPlanMaxEfiMemoryMap = 16 * 1024;  // bytes: 400 descriptors of 40 bytes
inline constexpr std::uint64_t kPlanMaxBootInfoBytes = required_size(
    BootInfoCapacity{kPlanMaxHarts, kPlanMaxRegions, kPlanMaxKernelPieces, kPlanMaxCommandLine, kPlanMaxEfiMemoryMap});

inline constexpr std::uint64_t kNoIndex = ~std::uint64_t{0};

struct PlanOptions {
    PagingModeSet supported_modes = PagingModeSet::all();  // from the satp probe of the boot hart
    bool has_mode_cap = false;                              // loader.paging= on the command line
    kmem::PagingModeId mode_cap = kmem::PagingModeId::Sv57;
    bool kaslr_default = true;        // what LoaderConfig's Kaslr::Default means (meson kaslr_default)
    bool kaslr_off = false;           // loader.kaslr=off: the kernel at its link address whatever LoaderConfig says
    std::uint64_t boot_hart_id = 0;
    // The loader's own image: LoaderReclaimable in the memory map. The
    // protocol maps nothing of it (the reference loader enters the kernel
    // through stvec); a loader whose handoff runs on after the satp write
    // sets identity_map_loader, and then text is mapped RX and data RW at
    // virtual = physical, or the text range RWX with loader_image_rwx.
    kmem::PhysicalRange loader_text{};
    kmem::PhysicalRange loader_data{};
    bool loader_image_rwx = false;
    bool identity_map_loader = false;
    // Entropy besides /chosen/rng-seed (the Zkr seed CSR, EFI_RNG_PROTOCOL);
    // both are hashed together. None at all: KASLR off with a warning.
    std::span<const std::uint8_t> entropy{};
    std::uint32_t entropy_sources = 0;  // kEntropy* bits naming where `entropy` came from
    // Started as an EFI application: the system table and the memory map
    // passed to ExitBootServices, handed on to the kernel as they are.
    std::uint64_t efi_system_table = 0;
    std::span<const std::byte> efi_memory_map{};
    std::uint32_t efi_memory_descriptor_size = 0;
    std::uint32_t efi_memory_descriptor_version = 0;
    std::uint64_t loader_entry_time = 0;     // rdtime at the loader's first instruction
    std::uint64_t loader_entry_instret = 0;  // rdinstret there
    // A counter make_plan reads after each PlanStep, the differences going
    // to stats.step_counts: the reference loader passes rdinstret, for its
    // benchmark figures. Null: not read.
    std::uint64_t (*step_counter)() = nullptr;
};

struct PlanInput {
    std::span<const std::uint8_t> device_tree{};  // at least the header's totalsize bytes
    kmem::PhysicalAddress device_tree_address{};
    // What fdt::read_machine_info made of device_tree, when the caller has
    // already read it (the loader needs the tree before it plans): spares
    // the planner a second walk. It may be the plan's own `machine`.
    const fdt::BasicMachineInfo* machine = nullptr;
    std::span<const std::byte> kernel{};          // the kernel ELF file
    kmem::PhysicalAddress kernel_address{};       // where those bytes lie in RAM
    PlanOptions options{};
};

// --- Output --------------------------------------------------------------------

// Where an entry of the allocation list comes from.
enum class AllocationOrigin : std::uint8_t {
    Planner,   // frames the planner took from free RAM
    Input,     // memory the inputs already occupy (loader, device tree, kernel file, initrd)
    Firmware,  // /memreserve/ and /reserved-memory (static ones)
};
constexpr std::string_view to_string(AllocationOrigin origin) {
    switch (origin) {
        case AllocationOrigin::Planner: return "planner";
        case AllocationOrigin::Input: return "input";
        case AllocationOrigin::Firmware: return "firmware";
    }
    return "?";
}

// One piece of physical memory and what it is for. `label` is static text
// or a node name inside the device tree; `index` is a hart id (stacks), a
// program header index (kernel segments) or kNoIndex.
struct Allocation {
    kmem::PhysicalRange range{};
    MemoryRegionKind kind = MemoryRegionKind::Reserved;
    AllocationOrigin origin = AllocationOrigin::Planner;
    std::string_view label{};
    std::uint64_t index = kNoIndex;
};

enum class AreaKind : std::uint8_t {
    Physmap,   // all RAM at physical + physmap_offset
    Kernel,    // a piece of the kernel image
    Stack,     // one hart's stack
    Guard,     // the unmapped page below a stack
    Identity,  // the loader image at virtual = physical
};
constexpr std::string_view to_string(AreaKind kind) {
    switch (kind) {
        case AreaKind::Physmap: return "physmap";
        case AreaKind::Kernel: return "kernel";
        case AreaKind::Stack: return "stack";
        case AreaKind::Guard: return "guard";
        case AreaKind::Identity: return "identity";
    }
    return "?";
}

// One range of the kernel's address space. Mapped areas translate linearly:
// va -> physical + (va - range.begin()). The physmap area maps only the RAM
// inside it (holes between memory ranges stay unmapped); guards are unmapped.
struct VirtualArea {
    AreaKind kind = AreaKind::Physmap;
    std::string_view label{};
    std::uint64_t index = kNoIndex;  // hart id (stack, guard), program header index (kernel)
    kmem::VirtualRange range{};
    kmem::PhysicalAddress physical{};
    kmem::PageFlags flags{};
    bool mapped = true;
    bool copied = false;  // kernel: the frames are a copy, not the ELF file's own
};

struct HartPlan {
    std::uint64_t hart_id = 0;
    HartState state = HartState::NotStarted;
    std::int32_t sbi_error = 0;
    kmem::VirtualAddress sp{};  // stack.end()
    kmem::VirtualAddress tp{};  // tls.begin(), 0 without PT_TLS
    kmem::VirtualRange stack{};
    kmem::VirtualRange tls{};
    kmem::PhysicalRange stack_frames{};
    kmem::PhysicalRange tls_frames{};
};

// Where one randomised area went and how many places it could have gone.
struct Placement {
    kmem::VirtualRange block{};     // the reserved virtual block (aligned to `granularity`)
    std::uint64_t granularity = 0;  // alignment of the block's start
    std::uint64_t positions = 0;    // valid starts; 1 when fixed
    bool randomised = false;
};

// make_plan's steps, in order, as PlanStatistics::step_counts indexes them.
enum class PlanStep : std::uint8_t {
    Inputs,       // the kernel's ELF and LoaderConfig, RAM and reservations from the machine
    Layout,       // paging mode, physmap/kernel/stack placement (KASLR), inputs reserved from the allocator
    Kernel,       // kernel segments copied or zeroed, relocations applied
    StacksAndTls, // per-hart stacks, TLS blocks initialised
    PageTables,   // the kernel's page tables
    BootInfo,     // the BootInfo block, the memory map, the area list
};
inline constexpr std::size_t kPlanStepCount = 6;

struct PlanStatistics {
    std::uint64_t table_frames = 0;      // page-table frames of the kernel's root
    std::uint64_t leaves[5] = {};        // leaf entries per level (4 KiB, 2 MiB, 1 GiB, ...)
    Placement physmap{};
    Placement kernel{};
    Placement stacks{};
    std::uint64_t kaslr_slide = 0;
    std::uint64_t physmap_offset = 0;
    std::uint64_t allocated_bytes = 0;   // frames the planner took (Planner origin)
    std::uint64_t copied_kernel_bytes = 0;
    std::uint64_t in_place_kernel_bytes = 0;
    std::uint64_t relocations = 0;
    // What PlanOptions::step_counter counted in each PlanStep; zeros without one.
    std::uint64_t step_counts[kPlanStepCount] = {};
};


// BootInfo's timebase when the device tree gives none (WarningCode::NoTimebase):
// QEMU virt's, the most common machine without a board vendor's tree.
inline constexpr std::uint64_t kDefaultTimebaseFrequency = 10'000'000;

enum class WarningCode : std::uint8_t {
    NoEntropy,                // value: 0; KASLR off, BootInfo.random from the timestamps
    KernelNotRelocatable,     // KASLR asked for, the kernel is ET_EXEC: it stays at its link address
    DynamicReservationLeft,   // value: size; /reserved-memory child without reg, left to the kernel
    HartWithoutPagingMode,    // value: hart id; its mmu-type does not reach the chosen mode (listed Unusable)
    SharedPagePermissions,    // value: va (linked); two segments share a page, mapped with the union
    HartsNotStarted,          // value: count of usable harts LoaderConfig leaves stopped
    InputInReservedMemory,    // value: begin of the input range that overlaps reserved memory
    NoTimebase,               // value: the frequency assumed (no timebase-frequency in /cpus)
    BootHartMismatch,         // value: /chosen/boot-hartid, other: the boot hart the loader runs on
    RamBeyondPhysmap,         // value: bytes left unmapped, other: where the physmap ends; text: the mode
};

struct PlanWarning {
    WarningCode code = WarningCode::NoEntropy;
    std::uint64_t value = 0;
    std::uint64_t other = 0;
    std::string_view text{};  // node name or mmu-type where it helps

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        using kmem::write;
        kmem::print(sink, "plan warning: ");
        switch (code) {
            case WarningCode::NoEntropy:
                write(sink, "no entropy (no /chosen/rng-seed, none from the loader): KASLR off, BootInfo.random "
                            "derived from the timestamps");
                break;
            case WarningCode::KernelNotRelocatable:
                kmem::print(sink, "KASLR asked for, but the kernel is not position-independent (ET_EXEC): it stays at ",
                            kmem::hex(value), "; physmap and stacks are still randomised");
                break;
            case WarningCode::DynamicReservationLeft:
                kmem::print(sink, "/reserved-memory/", text, " has a size (", kmem::size(value),
                            ") but no address: left to the kernel, the memory map shows it as usable");
                break;
            case WarningCode::HartWithoutPagingMode:
                kmem::print(sink, "hart ", value, " (mmu-type \"", text,
                            "\") cannot run the chosen paging mode: listed as Unusable, not started");
                break;
            case WarningCode::SharedPagePermissions:
                kmem::print(sink, "the page at ", kmem::hex(value),
                            " (link address) is shared by segments with different permissions: mapped with their union");
                break;
            case WarningCode::HartsNotStarted:
                kmem::print(sink, value, " usable harts left stopped (LoaderConfig.start_harts)");
                break;
            case WarningCode::InputInReservedMemory:
                kmem::print(sink, "the ", text, " at ", kmem::hex(value), " overlaps reserved memory");
                break;
            case WarningCode::NoTimebase:
                kmem::print(sink, "no timebase-frequency under /cpus: BootInfo says ", value, " Hz");
                break;
            case WarningCode::BootHartMismatch:
                kmem::print(sink, "/chosen/boot-hartid is ", value, " but the firmware entered the loader on hart ",
                            other, " (a0): hart ", other, " is the boot hart");
                break;
            case WarningCode::RamBeyondPhysmap:
                kmem::print(sink, "RAM beyond what a physmap in the higher half of ", text, " can reach: ",
                            kmem::size(value), " from ", kmem::hex(other),
                            " on is UsableUnmapped, for the kernel to map itself");
                break;
        }
    }
};

// --- Physical memory access ----------------------------------------------------

// How the planner reaches physical memory: the 4 KiB frame at a page-aligned
// address as 512 words (byte access goes through std::byte*, which may alias
// them). On target that is the address itself (MMU off); on the host a
// simulated memory (loader_api/host/simulated_memory.hpp).
template <class P>
concept PhysicalMemory = requires(P& memory, kmem::PhysicalAddress frame) {
    { memory.frame(frame) } -> std::same_as<std::uint64_t*>;
};

// Physical memory whose ranges are one piece each, reached from their first
// byte: the planner then builds the BootInfo block in its own frames rather
// than in a copy (BasicPlan::boot_info_bytes).
template <class P>
concept ContiguousPhysicalMemory = PhysicalMemory<P> && requires(P& memory, kmem::PhysicalAddress at) {
    { memory.bytes(at) } -> std::same_as<std::byte*>;
};

// The target's policy: physical address = pointer.
struct IdentityPhysicalMemory {
    std::uint64_t* frame(kmem::PhysicalAddress frame) const {
        return reinterpret_cast<std::uint64_t*>(static_cast<std::uintptr_t>(frame.value()));
    }
    std::byte* bytes(kmem::PhysicalAddress at) const {
        return reinterpret_cast<std::byte*>(static_cast<std::uintptr_t>(at.value()));
    }
};

// --- The plan --------------------------------------------------------------------

// The planner's working state, kept in the Plan rather than on the loader's
// stack (the frame allocator alone is 32 KiB). After planning, `ram` is the
// RAM the plan covers (whole pages) and `frames` tells what is still free.
struct PlanWorkspace {
    kmem::RangeSet<kmem::PhysicalAddress, kPlanMaxRamRanges> ram{};  // what the physmap maps
    kmem::RangeSet<kmem::PhysicalAddress, kPlanMaxRamRanges> unmapped_ram{};  // beyond its reach (UsableUnmapped)
    kmem::FrameAllocator<kPlanMaxFreeRanges, kPlanMaxUsedRanges> frames{};
    kmem::RangeSet<kmem::PhysicalAddress, kPlanMaxClaimedRanges> claimed{};
    kmem::FixedList<MemoryRegion, kPlanMaxRegions> pieces;
};

// The plan, its lists in storage the owner gives (use_storage): sized for
// the harts of the machine at hand, so that a loader on a small machine
// does not carry room for the largest one. Plan below owns room for
// kPlanMaxHarts; the reference loader gives room for the harts its device
// tree lists. make_plan fills it. Constructing one costs O(1): the lists
// construct their elements as they are pushed.
struct BasicPlan {
    // User-provided, so that value-initialisation does not zero the whole
    // object first.
    BasicPlan() {}
    BasicPlan(const BasicPlan&) = delete;
    BasicPlan& operator=(const BasicPlan&) = delete;

    fdt::BasicMachineInfo machine{};
    LoaderConfig config{};

    kmem::PagingModeId mode = kmem::PagingModeId::Sv39;
    std::uint64_t satp = 0;
    kmem::PhysicalAddress root{};
    kmem::VirtualAddress entry{};
    bool kaslr = false;  // the kernel's own slide was randomised
    std::uint64_t kaslr_slide = 0;
    std::uint64_t physmap_offset = 0;
    kmem::VirtualRange physmap{};
    kmem::VirtualRange kernel_virtual{};

    kmem::PhysicalAddress boot_info_physical{};
    kmem::VirtualAddress boot_info_virtual{};
    std::uint64_t boot_info_size = 0;  // header.total_size

    kmem::BoundedList<HartPlan> harts;  // sorted by hart id, the BootInfo hart table
    kmem::BoundedList<Allocation> allocations;
    kmem::BoundedList<VirtualArea> areas;  // sorted by virtual address
    kmem::FixedList<MemoryRegion, kPlanMaxRegions> regions;  // the BootInfo memory map
    kmem::FixedList<PlanWarning, kPlanMaxWarnings> warnings;
    std::size_t warnings_dropped = 0;
    PlanStatistics stats{};
    PlanWorkspace workspace{};

    // The block the kernel gets, its first boot_info_size bytes. In
    // ContiguousPhysicalMemory the planner builds it in its own frames and
    // this views them; elsewhere it is built in the room the owner gave here
    // (Plan gives kPlanMaxBootInfoBytes) and copied to the frames.
    std::span<std::byte> boot_info_bytes{};

    const BootInfo& boot_info() const { return *reinterpret_cast<const BootInfo*>(boot_info_bytes.data()); }
    const HartPlan* find_hart(std::uint64_t hart_id) const {
        for (const HartPlan& hart : harts)
            if (hart.hart_id == hart_id) return &hart;
        return nullptr;
    }

    // The room the lists that grow with the harts (machine.harts, harts,
    // allocations, areas) take for a machine of `hart_count` harts, and
    // handing them that room, 8-byte aligned; the lists start empty.
    static constexpr std::size_t storage_bytes(std::size_t hart_count) {
        return hart_count * (sizeof(fdt::Hart) + sizeof(HartPlan)) +
               (hart_count + kPlanAllocationsBesideHarts) * sizeof(Allocation) +
               (hart_count * 2 + kPlanAreasBesideHarts) * sizeof(VirtualArea);
    }
    void use_storage(std::byte* room, std::size_t hart_count) {
        machine.harts.assign_storage(reinterpret_cast<fdt::Hart*>(room), hart_count);
        room += hart_count * sizeof(fdt::Hart);
        harts.assign_storage(reinterpret_cast<HartPlan*>(room), hart_count);
        room += hart_count * sizeof(HartPlan);
        allocations.assign_storage(reinterpret_cast<Allocation*>(room), hart_count + kPlanAllocationsBesideHarts);
        room += (hart_count + kPlanAllocationsBesideHarts) * sizeof(Allocation);
        areas.assign_storage(reinterpret_cast<VirtualArea*>(room), hart_count * 2 + kPlanAreasBesideHarts);
    }
};
static_assert(sizeof(fdt::Hart) % 8 == 0 && sizeof(HartPlan) % 8 == 0 && sizeof(Allocation) % 8 == 0,
              "use_storage keeps every list 8-byte aligned");

// A BasicPlan with room for the largest machine (kPlanMaxHarts) and for a
// copy of its BootInfo: what the host tools and tests plan into. Large
// (over 600 KiB): the caller owns the storage (the heap on the host).
struct Plan : BasicPlan {
    Plan() {
        use_storage(storage_, kPlanMaxHarts);
        boot_info_bytes = boot_info_storage_;
    }

private:
    alignas(8) std::byte storage_[storage_bytes(kPlanMaxHarts)];
    alignas(8) std::byte boot_info_storage_[kPlanMaxBootInfoBytes];
};

}  // namespace loader_api
