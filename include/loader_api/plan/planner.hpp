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

#include <cstddef>
#include <cstdint>
#include <span>

#include "loader_api/elf.hpp"
#include "loader_api/plan/random.hpp"
#include "loader_api/plan/types.hpp"

namespace loader_api {

namespace plan_detail {

using kmem::PhysicalAddress;
using kmem::PhysicalRange;
using kmem::VirtualAddress;
using kmem::VirtualRange;

inline constexpr std::uint64_t k4K = kmem::kPageSize;
inline constexpr std::uint64_t k2M = std::uint64_t{2} << 20;
inline constexpr std::uint64_t k1G = std::uint64_t{1} << 30;
// The top page of the address space is never used (AddressRange cannot end at 2^64).
inline constexpr std::uint64_t kWindowEnd = ~std::uint64_t{0} - (k4K - 1);

template <class T>
using Result = kmem::Expected<T, PlanError>;

constexpr PlanError make_error(PlanErrorCode code, std::string_view what = {}, std::uint64_t value = 0,
                               std::uint64_t other = 0) {
    PlanError error{};
    error.code = code;
    error.what = what;
    error.value = value;
    error.other = other;
    return error;
}
constexpr kmem::Unexpected<PlanError> fail(PlanErrorCode code, std::string_view what = {}, std::uint64_t value = 0,
                                           std::uint64_t other = 0) {
    return kmem::unexpected(make_error(code, what, value, other));
}

// Every page the range touches; ranges here lie in RAM, far from 2^64.
constexpr PhysicalRange page_span(PhysicalRange range) {
    if (range.empty()) return {};
    const auto pages = range.pages();
    return {PhysicalAddress(pages.first), PhysicalAddress(pages.past_last)};
}
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

// Insertion sort: what it sorts is short or nearly sorted already (lowest-
// first allocations, device tree order), and std::sort would pull in
// __clzdi2 from libgcc, which the loader does not link.
template <class T, class Less>
constexpr void sort(T* first, T* last, Less less) {
    for (T* i = first; i != last; ++i) {
        T value = *i;
        T* j = i;
        while (j != first && less(value, *(j - 1))) {
            *j = *(j - 1);
            --j;
        }
        *j = value;
    }
}

// --- Physical memory, byte-wise ---------------------------------------------

template <PhysicalMemory P>
std::byte* frame_bytes(P& memory, std::uint64_t page) {
    return reinterpret_cast<std::byte*>(memory.frame(PhysicalAddress(page)));
}

// Calls f(bytes, done, chunk) for each piece of [at, at + size) that lies in
// one frame: `bytes` points at the piece, `done` is its offset from `at`.
// Physical memory is reached frame by frame (SimulatedMemory keeps frames
// apart; on target the identity map makes this one piece per page).
template <PhysicalMemory P, class F>
void for_each_frame_piece(P& memory, std::uint64_t at, std::uint64_t size, F&& f) {
    for (std::uint64_t done = 0; done < size;) {
        const std::uint64_t address = at + done;
        const std::uint64_t page = kmem::align_down(address, k4K);
        const std::uint64_t offset = address - page;
        std::uint64_t chunk = k4K - offset;
        if (chunk > size - done) chunk = size - done;
        f(frame_bytes(memory, page) + offset, static_cast<std::size_t>(done), static_cast<std::size_t>(chunk));
        done += chunk;
    }
}

template <PhysicalMemory P>
void write_physical(P& memory, PhysicalAddress at, std::span<const std::byte> bytes) {
    for_each_frame_piece(memory, at.value(), bytes.size(), [&](std::byte* piece, std::size_t done, std::size_t chunk) {
        __builtin_memcpy(piece, bytes.data() + done, chunk);
    });
}

template <PhysicalMemory P>
void read_physical(P& memory, PhysicalAddress at, std::span<std::byte> out) {
    for_each_frame_piece(memory, at.value(), out.size(), [&](std::byte* piece, std::size_t done, std::size_t chunk) {
        __builtin_memcpy(out.data() + done, piece, chunk);
    });
}

template <PhysicalMemory P>
void zero_physical(P& memory, PhysicalRange range) {
    for_each_frame_piece(memory, range.begin().value(), range.size(), [](std::byte* piece, std::size_t, std::size_t chunk) {
        // Most pieces are whole frames (.bss, TLS); a constant size lets the
        // compiler pick its best sequence (x86-64: rep stosq, where glibc's
        // memset does rep stosb, 4096 steps under callgrind).
        if (chunk == k4K) {
            __builtin_memset(piece, 0, k4K);
        } else {
            __builtin_memset(piece, 0, chunk);
        }
    });
}

// --- Page-table frames from the planner's allocator ----------------------------

using Frames = kmem::FrameAllocator<kPlanMaxFreeRanges, kPlanMaxUsedRanges>;

template <PhysicalMemory P>
class TableMemory {
public:
    TableMemory(Frames& frames, P& memory, Plan& plan) : frames_(frames), memory_(memory), plan_(plan) {}

    kmem::Expected<PhysicalAddress, kmem::AllocError> allocate_zeroed_frame() {
        auto frame = frames_.allocate();
        if (!frame) {
            last_error_ = frame.error();
            return frame;
        }
        __builtin_memset(memory_.frame(*frame), 0, k4K);
        // Lowest-first allocation puts consecutive tables next to each
        // other: one entry in the list covers the run.
        const PhysicalRange range{*frame, *frame + k4K};
        auto& list = plan_.allocations;
        if (!list.empty() && list.back().kind == MemoryRegionKind::PageTables && list.back().range.end() == *frame) {
            list.back().range = {list.back().range.begin(), range.end()};
        } else if (!list.push({range, MemoryRegionKind::PageTables, AllocationOrigin::Planner, "page tables", kNoIndex})) {
            (void)frames_.release(range);
            capacity_hit_ = true;
            kmem::AllocError error{};
            error.code = kmem::AllocErrorCode::CapacityExceeded;
            error.range = range;
            error.capacity = kPlanMaxAllocations;
            last_error_ = error;
            return kmem::unexpected(error);
        }
        plan_.stats.allocated_bytes += k4K;
        return *frame;
    }

    // Only a failed map() frees tables, and the plan is abandoned then; the
    // allocation list is kept exact for the common case of the latest frame.
    void free_frame(PhysicalAddress frame) {
        (void)frames_.release({frame, frame + k4K});
        plan_.stats.allocated_bytes -= k4K;
        auto& list = plan_.allocations;
        if (!list.empty() && list.back().kind == MemoryRegionKind::PageTables && list.back().range.end() == frame + k4K) {
            list.back().range = {list.back().range.begin(), frame};
            if (list.back().range.empty()) list.pop();
        }
    }

    std::uint64_t* pointer(PhysicalAddress frame) { return memory_.frame(frame); }

    bool capacity_hit() const { return capacity_hit_; }
    const kmem::AllocError& last_error() const { return last_error_; }

private:
    Frames& frames_;
    P& memory_;
    Plan& plan_;
    bool capacity_hit_ = false;
    kmem::AllocError last_error_{};
};

// --- LoaderConfig -------------------------------------------------------------------

using elf_detail::read_le;

// Where each field of LoaderConfig ends: a shorter config (an older minor
// version) must stop at one of these, so that no field is cut in half.
inline constexpr std::uint32_t kLoaderConfigFieldEnds[] = {16, 24, 28, 32, 36, 40, 44, 48, 52, 56};
static_assert(kLoaderConfigFieldEnds[sizeof kLoaderConfigFieldEnds / sizeof kLoaderConfigFieldEnds[0] - 1] ==
              sizeof(LoaderConfig));

// A zero field means "the default" (docs/protocol.md, LoaderConfig), so that
// a config written field by field from the spec, or one shorter than this
// loader knows, plans exactly like LoaderConfig{}. The fields not named here
// have zero as their default already.
constexpr LoaderConfig with_defaults(LoaderConfig config) {
    constexpr LoaderConfig defaults{};
    if (config.stack_size == 0) config.stack_size = defaults.stack_size;
    if (static_cast<std::uint32_t>(config.min_paging_mode) == 0) config.min_paging_mode = defaults.min_paging_mode;
    if (static_cast<std::uint32_t>(config.max_paging_mode) == 0) config.max_paging_mode = defaults.max_paging_mode;
    if (static_cast<std::uint32_t>(config.preferred_paging_mode) == 0)
        config.preferred_paging_mode = defaults.preferred_paging_mode;
    return config;
}

inline Result<LoaderConfig> read_config(const ElfFile& elf) {
    const auto section = elf.find_section(".loader_config");
    if (!section) return fail(PlanErrorCode::MissingLoaderConfig);
    const std::span<const std::byte> bytes = section->bytes;
    if (bytes.size() < 16) return fail(PlanErrorCode::BadLoaderConfig, "section size", bytes.size(), sizeof(LoaderConfig));
    if (read_le(bytes, 0, 8) != kLoaderConfigMagic)
        return fail(PlanErrorCode::BadLoaderConfig, "magic", read_le(bytes, 0, 8), kLoaderConfigMagic);
    if (read_le(bytes, 8, 2) != kLoaderConfigVersionMajor)
        return fail(PlanErrorCode::BadLoaderConfig, "version_major", read_le(bytes, 8, 2), kLoaderConfigVersionMajor);
    const std::uint64_t size = read_le(bytes, 12, 4);
    bool field_end = size > sizeof(LoaderConfig);
    for (const std::uint32_t end : kLoaderConfigFieldEnds) field_end = field_end || size == end;
    if (!field_end)
        return fail(PlanErrorCode::BadLoaderConfig, "size (not at the end of a field)", size, sizeof(LoaderConfig));
    if (bytes.size() < size) return fail(PlanErrorCode::BadLoaderConfig, "section size", bytes.size(), size);
    // A newer minor version may be longer: what this loader does not know
    // must be zero ("as before"), or the kernel asks for something it would
    // silently not get.
    for (std::uint64_t at = sizeof(LoaderConfig); at < size; ++at)
        if (bytes[at] != std::byte{0})
            return fail(PlanErrorCode::BadLoaderConfig, "offset of a non-zero byte past the fields this loader knows", at, 0);
    // Missing fields read as 0, which with_defaults() turns into defaults.
    std::byte known[sizeof(LoaderConfig)] = {};
    __builtin_memcpy(known, bytes.data(), size < sizeof(LoaderConfig) ? size : sizeof(LoaderConfig));
    LoaderConfig raw{};
    __builtin_memcpy(&raw, known, sizeof raw);
    const LoaderConfig config = with_defaults(raw);
    if (config.stack_size % k4K != 0 || config.stack_size > (std::uint64_t{1} << 40))
        return fail(PlanErrorCode::BadLoaderConfig, "stack_size (a multiple of 4 KiB)", config.stack_size, 64 * 1024);
    if (!is_valid(config.min_paging_mode))
        return fail(PlanErrorCode::BadLoaderConfig, "min_paging_mode", static_cast<std::uint32_t>(config.min_paging_mode), 8);
    if (!is_valid(config.max_paging_mode))
        return fail(PlanErrorCode::BadLoaderConfig, "max_paging_mode", static_cast<std::uint32_t>(config.max_paging_mode), 10);
    if (!is_valid(config.preferred_paging_mode))
        return fail(PlanErrorCode::BadLoaderConfig, "preferred_paging_mode",
                    static_cast<std::uint32_t>(config.preferred_paging_mode), 9);
    if (config.min_paging_mode > config.max_paging_mode)
        return fail(PlanErrorCode::BadLoaderConfig, "min_paging_mode (above max_paging_mode)",
                    static_cast<std::uint32_t>(config.min_paging_mode), static_cast<std::uint32_t>(config.max_paging_mode));
    if (!names_value(config.kaslr)) return kmem::unexpected(unnamed_config_value("kaslr", config.kaslr));
    if (!names_value(config.start_harts)) return kmem::unexpected(unnamed_config_value("start_harts", config.start_harts));
    if (!names_value(config.log_level)) return kmem::unexpected(unnamed_config_value("log_level", config.log_level));
    return config;
}

// --- Harts ------------------------------------------------------------------------

struct HartMode {
    bool usable = false;
    kmem::PagingModeId max{};
};

// The widest mode a hart's mmu-type names; harts that are not "okay" or
// name no Sv39/48/57 MMU cannot run the kernel.
constexpr HartMode hart_mode(const fdt::Hart& hart) {
    if (!hart.enabled() || !hart.has_mmu_type) return {};
    if (hart.mmu_type == "riscv,sv39") return {true, kmem::PagingModeId::Sv39};
    if (hart.mmu_type == "riscv,sv48") return {true, kmem::PagingModeId::Sv48};
    if (hart.mmu_type == "riscv,sv57") return {true, kmem::PagingModeId::Sv57};
    return {};
}

constexpr bool mode_at_least(kmem::PagingModeId have, kmem::PagingModeId want) {
    return static_cast<unsigned>(have) >= static_cast<unsigned>(want);
}

// mmu-type names the widest mode a hart implements, but device trees
// understate it (QEMU 7.2 writes "riscv,sv48" for harts that implement
// Sv57). The boot hart's satp probe is direct evidence, so harts described
// exactly like the boot hart (same mmu-type) are taken to implement what the
// probe found; a hart described differently keeps its own mmu-type.
constexpr HartMode effective_hart_mode(const fdt::Hart& hart, const fdt::Hart& boot, PagingModeSet probed) {
    HartMode mode = hart_mode(hart);
    if (!mode.usable || hart.mmu_type != boot.mmu_type) return mode;
    for (auto widest : {kmem::PagingModeId::Sv57, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv39}) {
        if (probed.contains(widest)) {
            mode.max = widest;
            break;
        }
    }
    return mode;
}

// --- Virtual layout -----------------------------------------------------------------

using VirtualSet = kmem::RangeSet<VirtualAddress, 8>;

// Valid starts of a block as inclusive ranges [low, high], both multiples of
// the granularity, in ascending order.
struct Candidates {
    struct Span {
        std::uint64_t low = 0;
        std::uint64_t high = 0;
    };
    std::array<Span, 2 * 8> spans{};
    std::size_t count = 0;
    std::uint64_t positions = 0;
    std::uint64_t granularity = 0;

    constexpr void add(std::uint64_t low, std::uint64_t high) {
        KMEM_ASSERT(count < spans.size() && low <= high);
        spans[count++] = {low, high};
        positions += (high - low) / granularity + 1;
    }
};

// Can [begin, end) hold `size` bytes starting at a 2 MiB boundary?
constexpr bool hosts(std::uint64_t begin, std::uint64_t end, std::uint64_t size) {
    const std::uint64_t start = round_up(begin, k2M);
    return start >= begin && start <= end && end - start >= size;
}

// Where a block of `size` bytes (a multiple of 2 MiB) may start: inside a
// free range, at a multiple of `granularity`, and leaving some free range
// that can still hold `reserve` bytes (the blocks placed after it).
constexpr Candidates candidates(const VirtualSet& free, std::uint64_t size, std::uint64_t granularity,
                                std::uint64_t reserve) {
    Candidates result;
    result.granularity = granularity;
    for (std::size_t i = 0; i < free.size(); ++i) {
        const std::uint64_t a = free[i].begin().value();
        const std::uint64_t b = free[i].end().value();
        if (b - a < size) continue;
        const std::uint64_t first = round_up(a, granularity);
        if (first < a || first > b - size) continue;
        const std::uint64_t last = kmem::align_down(b - size, granularity);
        bool elsewhere = reserve == 0;
        for (std::size_t j = 0; j < free.size() && !elsewhere; ++j)
            elsewhere = j != i && hosts(free[j].begin().value(), free[j].end().value(), reserve);
        if (elsewhere) {
            result.add(first, last);
            continue;
        }
        // The piece below the block holds the reserve from this start on...
        bool left_ok = false;
        std::uint64_t left_low = 0;
        const std::uint64_t a2 = round_up(a, k2M);
        if (a2 >= a && a2 <= ~std::uint64_t{0} - reserve) {
            const std::uint64_t low = round_up(a2 + reserve, granularity);
            if (low >= a2 + reserve && low <= last) {
                left_ok = true;
                left_low = low < first ? first : low;
            }
        }
        // ...and the piece above it (the block's end is 2 MiB aligned) up to this one.
        bool right_ok = false;
        std::uint64_t right_high = 0;
        if (b - a >= size + reserve && b - size - reserve >= first) {
            right_ok = true;
            right_high = kmem::align_down(b - size - reserve, granularity);
            if (right_high > last) right_high = last;
        }
        if (right_ok && left_ok && right_high + granularity >= left_low) {
            result.add(first, last);
        } else {
            if (right_ok) result.add(first, right_high);
            if (left_ok) result.add(left_low, last);
        }
    }
    return result;
}

enum class Pick : std::uint8_t { Lowest, Highest, Random };

constexpr std::uint64_t pick(const Candidates& candidates, Pick how, plan_random::SplitMix64& rng) {
    KMEM_ASSERT(candidates.positions > 0);
    if (how == Pick::Lowest) return candidates.spans[0].low;
    if (how == Pick::Highest) return candidates.spans[candidates.count - 1].high;
    std::uint64_t index = rng.below(candidates.positions);
    for (std::size_t i = 0; i < candidates.count; ++i) {
        const auto& span = candidates.spans[i];
        const std::uint64_t here = (span.high - span.low) / candidates.granularity + 1;
        if (index < here) return span.low + index * candidates.granularity;
        index -= here;
    }
    KMEM_ASSERT(false);
    return 0;
}

struct LayoutRequest {
    unsigned va_bits = 39;
    std::uint64_t physmap_size = 0;     // multiple of 1 GiB
    std::uint64_t kernel_link = 0;      // aligned down to kernel_granularity
    std::uint64_t kernel_size = 0;      // multiple of kernel_granularity
    std::uint64_t kernel_granularity = k2M;
    bool kernel_movable = false;        // PIE
    std::uint64_t stacks_size = 0;      // multiple of 2 MiB
    bool randomise = false;             // physmap and stacks (and the kernel if movable)
    std::uint64_t key = 0;
};

struct Layout {
    Placement physmap, kernel, stacks;
};

constexpr std::uint64_t upper_half_begin(unsigned va_bits) { return ~std::uint64_t{0} << (va_bits - 1); }
constexpr std::uint64_t lower_half_end(unsigned va_bits) { return std::uint64_t{1} << (va_bits - 1); }

constexpr Result<Layout> plan_layout(const LayoutRequest& request, kmem::PagingModeId mode) {
    const std::uint64_t begin = upper_half_begin(request.va_bits);
    const VirtualRange window{VirtualAddress(begin), VirtualAddress(kWindowEnd)};
    if (request.physmap_size > window.size()) {
        PlanError error = make_error(PlanErrorCode::RamTooLargeForPhysmap, {}, request.physmap_size, window.size());
        error.mode = mode;
        return kmem::unexpected(error);
    }
    auto no_fit = [&](std::string_view why) {
        PlanError error = make_error(PlanErrorCode::KernelDoesNotFit, why, request.kernel_link,
                                     request.kernel_link + request.kernel_size);
        error.mode = mode;
        return kmem::unexpected(error);
    };
    VirtualSet free;
    (void)free.insert(window);
    Layout layout;
    plan_random::SplitMix64 physmap_rng = plan_random::stream(request.key, plan_random::Stream::Physmap);
    plan_random::SplitMix64 kernel_rng = plan_random::stream(request.key, plan_random::Stream::Kernel);
    plan_random::SplitMix64 stacks_rng = plan_random::stream(request.key, plan_random::Stream::Stacks);

    // A kernel that cannot move, or may stay where it was linked, goes first.
    const bool link_in_window = request.kernel_link >= begin && request.kernel_link < kWindowEnd &&
                                kWindowEnd - request.kernel_link >= request.kernel_size;
    const bool kernel_fixed = !request.kernel_movable || (!request.randomise && link_in_window);
    if (kernel_fixed) {
        if (!link_in_window) return no_fit("its link address is not in the higher half");
        const VirtualRange block{VirtualAddress(request.kernel_link), VirtualAddress(request.kernel_link + request.kernel_size)};
        (void)free.remove(block);
        layout.kernel = {block, request.kernel_granularity, 1, false};
    }
    const std::uint64_t kernel_reserve =
        kernel_fixed ? 0 : request.kernel_size + (request.kernel_granularity - k2M);

    const Candidates physmap = candidates(free, request.physmap_size, k1G, kernel_reserve + request.stacks_size);
    if (physmap.positions == 0) return no_fit("no room beside the physmap");
    const std::uint64_t physmap_at =
        pick(physmap, request.randomise ? Pick::Random : Pick::Lowest, physmap_rng);
    layout.physmap = {{VirtualAddress(physmap_at), VirtualAddress(physmap_at + request.physmap_size)},
                      k1G, physmap.positions, request.randomise};
    (void)free.remove(layout.physmap.block);

    if (!kernel_fixed) {
        const Candidates kernel = candidates(free, request.kernel_size, request.kernel_granularity, request.stacks_size);
        if (kernel.positions == 0) return no_fit("no room in the higher half");
        const std::uint64_t at = pick(kernel, request.randomise ? Pick::Random : Pick::Highest, kernel_rng);
        layout.kernel = {{VirtualAddress(at), VirtualAddress(at + request.kernel_size)},
                         request.kernel_granularity, kernel.positions, request.randomise};
        (void)free.remove(layout.kernel.block);
    }

    const Candidates stacks = candidates(free, request.stacks_size, k2M, 0);
    if (stacks.positions == 0) return no_fit("no room for the stacks");
    const std::uint64_t stacks_at = pick(stacks, request.randomise ? Pick::Random : Pick::Highest, stacks_rng);
    layout.stacks = {{VirtualAddress(stacks_at), VirtualAddress(stacks_at + request.stacks_size)}, k2M,
                     stacks.positions, request.randomise};
    return layout;
}

// --- Kernel image ---------------------------------------------------------------------

struct KernelSegmentInfo {
    Segment segment{};
    std::uint64_t page_begin = 0;  // linked, page-aligned
    std::uint64_t page_end = 0;
};

// Segments that share a page must share frames: they form one cluster,
// copied together, or one segment mapped in place from the file.
struct Cluster {
    std::size_t first = 0;  // segment indices [first, last]
    std::size_t last = 0;
    std::uint64_t page_begin = 0;
    std::uint64_t page_end = 0;
    bool copy = false;
    PhysicalAddress frames{};
};

struct KernelPiece {
    std::uint64_t link_begin = 0;
    std::uint64_t link_end = 0;
    PhysicalAddress frames{};
    kmem::PageFlags flags{};
    bool copied = false;
    std::size_t segment_index = 0;  // program header index of the first segment in it
};

struct KernelImage {
    std::array<KernelSegmentInfo, kPlanMaxKernelSegments> segments{};
    std::size_t segment_count = 0;
    std::array<Cluster, kPlanMaxKernelSegments> clusters{};
    std::size_t cluster_count = 0;
    std::array<KernelPiece, kPlanMaxKernelPieces> pieces{};
    std::size_t piece_count = 0;

    constexpr Cluster* cluster_of(std::uint64_t link_va) {
        for (std::size_t i = 0; i < cluster_count; ++i)
            if (link_va >= clusters[i].page_begin && link_va < clusters[i].page_end) return &clusters[i];
        return nullptr;
    }
};

constexpr kmem::PageFlags segment_flags(const Segment& segment, bool allow_write_execute) {
    kmem::PageFlags flags{};
    flags.read = segment.readable();
    flags.write = segment.writable();
    flags.execute = segment.executable();
    // R=0 W=1 cannot be encoded and R=W=X=0 is a table pointer: such
    // segments are made readable.
    if (flags.write || (!flags.read && !flags.execute)) flags.read = true;
    flags.allow_write_execute = allow_write_execute && flags.write && flags.execute;
    return flags;
}

constexpr kmem::PageFlags union_flags(kmem::PageFlags a, kmem::PageFlags b) {
    a.read = a.read || b.read;
    a.write = a.write || b.write;
    a.execute = a.execute || b.execute;
    return a;
}

// --- The planner proper -------------------------------------------------------------------

template <PhysicalMemory P>
class Planner {
public:
    Planner(const PlanInput& input, Plan& plan, P& memory) : input_(input), plan_(plan), memory_(memory) {}

    Result<void> run();

private:
    Result<void> read_inputs();
    Result<void> choose_mode_and_layout();
    void select_harts(kmem::PagingModeId mode, bool warn);
    Result<void> reserve_inputs();
    Result<void> load_kernel();
    Result<void> allocate_stacks_and_tls();
    template <kmem::PagingMode M>
    Result<void> build_tables();
    Result<void> compute_regions();
    Result<void> build_boot_info();

    Result<PhysicalRange> allocate(std::uint64_t size, std::uint64_t alignment, MemoryRegionKind kind,
                                   std::string_view label, std::uint64_t index);
    Result<void> record(PhysicalRange range, MemoryRegionKind kind, AllocationOrigin origin, std::string_view label,
                        std::uint64_t index = kNoIndex);
    Result<void> check_in_ram(PhysicalRange range, std::string_view what) const;
    Result<void> check_initrd_apart() const;
    bool reserves_initrd(const fdt::ReservedRange& reserved) const;
    void warn(WarningCode code, std::uint64_t value = 0, std::uint64_t other = 0, std::string_view text = {});
    void read_kernel(std::uint64_t link_va, std::span<std::byte> out);
    Result<void> add_area(const VirtualArea& area);

    const PlanInput& input_;
    Plan& plan_;
    P& memory_;
    ElfFile elf_{};
    KernelImage image_{};
    std::uint64_t key_ = 0;
    bool have_entropy_ = false;
    std::uint32_t entropy_sources_ = 0;  // BootInfo::entropy_sources
    bool kaslr_wanted_ = false;
    std::uint64_t started_harts_ = 0;
    std::uint64_t ram_low_ = 0;   // lowest RAM address, aligned down to 1 GiB
    Result<void> leave_unmapped(PhysicalAddress limit, kmem::PagingModeId mode);
    std::uint64_t tls_stride_ = 0;
    PhysicalRange tls_frames_{};
    PhysicalRange device_tree_{};
    PhysicalRange kernel_file_{};
    PhysicalRange initrd_{};
};

template <PhysicalMemory P>
void Planner<P>::warn(WarningCode code, std::uint64_t value, std::uint64_t other, std::string_view text) {
    if (!plan_.warnings.push({code, value, other, text})) ++plan_.warnings_dropped;
}

template <PhysicalMemory P>
Result<void> Planner<P>::add_area(const VirtualArea& area) {
    if (!plan_.areas.push(area)) return fail(PlanErrorCode::CapacityExceeded, "virtual areas", kPlanMaxAreas);
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::record(PhysicalRange range, MemoryRegionKind kind, AllocationOrigin origin,
                                std::string_view label, std::uint64_t index) {
    if (!plan_.allocations.push({range, kind, origin, label, index}))
        return fail(PlanErrorCode::CapacityExceeded, "allocations", kPlanMaxAllocations);
    return {};
}

template <PhysicalMemory P>
Result<PhysicalRange> Planner<P>::allocate(std::uint64_t size, std::uint64_t alignment, MemoryRegionKind kind,
                                           std::string_view label, std::uint64_t index) {
    auto block = plan_.workspace.frames.allocate_contiguous(size, alignment);
    if (!block) {
        PlanError error = make_error(block.error().code == kmem::AllocErrorCode::OutOfMemory
                                         ? PlanErrorCode::OutOfMemory
                                         : PlanErrorCode::AllocatorCapacity,
                                     label, index);
        error.alloc = block.error();
        return kmem::unexpected(error);
    }
    KMEM_TRY(record(*block, kind, AllocationOrigin::Planner, label, index));
    plan_.stats.allocated_bytes += block->size();
    return *block;
}

template <PhysicalMemory P>
Result<void> Planner<P>::check_in_ram(PhysicalRange range, std::string_view what) const {
    if (range.empty()) return {};
    if (!plan_.workspace.ram.contains(range))
        return fail(PlanErrorCode::InputOutsideRam, what, range.begin().value(), range.end().value());
    return {};
}

// U-Boot records the initrd it placed as a /memreserve/ of exactly its range
// (fdt_initrd). That entry names the initrd, not firmware memory: the initrd
// (or the kernel file, when the initrd carries the kernel) is reported as
// such, and nothing else is placed there either way.
template <PhysicalMemory P>
bool Planner<P>::reserves_initrd(const fdt::ReservedRange& reserved) const {
    const fdt::Chosen& chosen = plan_.machine.chosen;
    return reserved.source == fdt::ReservationSource::kMemReserve && chosen.has_initrd && !chosen.initrd.empty() &&
           reserved.range == chosen.initrd;
}

// Reads the kernel's bytes at a linked address as the kernel will see them:
// from the relocated copy when its cluster was copied, else from the file.
template <PhysicalMemory P>
void Planner<P>::read_kernel(std::uint64_t link_va, std::span<std::byte> out) {
    Cluster* cluster = image_.cluster_of(link_va);
    if (cluster != nullptr && cluster->copy) {
        read_physical(memory_, cluster->frames + (link_va - cluster->page_begin), out);
        return;
    }
    const auto offset = elf_.file_offset_of(link_va, out.size(), "PT_TLS");
    if (offset) {
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = elf_.bytes()[*offset + i];
    } else {
        for (auto& byte : out) byte = std::byte{0};
    }
}

// Any other initrd that shares a page with an input is a wrong /chosen
// (stale addresses, a tree edited by hand): passing it on would hand the
// kernel the loader's or the tree's bytes as its initrd, and ignoring it
// would boot without the initrd the firmware meant to give.
template <PhysicalMemory P>
Result<void> Planner<P>::check_initrd_apart() const {
    const PhysicalRange text = input_.options.loader_text;
    const PhysicalRange data = input_.options.loader_data;
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
        {device_tree_, "device tree"},
        {one_image ? PhysicalRange(text.begin(), data.end()) : text, one_image ? "loader image" : "loader text"},
        {one_image ? PhysicalRange{} : data, "loader data"},
        {kernel_file_, "kernel file"},
    };
    // Pages, not bytes: the memory map gives each page one kind, so an
    // initrd that only shares a page with an input cannot be described either.
    for (const Input& input : inputs) {
        if (!page_span(initrd_).overlaps(page_span(input.range))) continue;
        PlanError error = make_error(PlanErrorCode::InitrdOverlapsInput, input.what, initrd_.begin().value(),
                                     initrd_.end().value());
        error.range = input.range;
        return kmem::unexpected(error);
    }
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::read_inputs() {
    const PlanInput& in = input_;
    // Device tree.
    auto fdt = fdt::Fdt::create(in.device_tree);
    if (!fdt) {
        PlanError error = make_error(PlanErrorCode::DeviceTree);
        error.fdt = fdt.error();
        return kmem::unexpected(error);
    }
    if (in.machine != nullptr) {
        if (in.machine != &plan_.machine) plan_.machine = *in.machine;
    } else if (auto read = fdt::read_machine_info(*fdt, plan_.machine); !read) {
        PlanError error = make_error(PlanErrorCode::DeviceTree);
        error.fdt = read.error();
        return kmem::unexpected(error);
    }
    const fdt::MachineInfo& machine = plan_.machine;

    // Kernel.
    auto elf = ElfFile::parse(in.kernel);
    if (!elf) {
        PlanError error = make_error(PlanErrorCode::KernelElf);
        error.elf = elf.error();
        return kmem::unexpected(error);
    }
    elf_ = *elf;
    plan_.config = KMEM_TRY(read_config(elf_));
    const LoaderConfig& config = plan_.config;
    if (config.allow_write_execute == 0) {
        if (auto wx = elf_.check_no_write_execute(); !wx) {
            PlanError error = make_error(PlanErrorCode::WriteExecute);
            error.elf = wx.error();
            return kmem::unexpected(error);
        }
    }
    if (auto entry = elf_.check_entry_executable(); !entry) {
        PlanError error = make_error(PlanErrorCode::EntryNotExecutable);
        error.elf = entry.error();
        return kmem::unexpected(error);
    }
    // The kernel is entered through stvec, whose two low bits are MODE: an
    // entry at 4n+2 (legal with the C extension) would trap to 4n, or
    // vector, and hang. The slide keeps the low bits (2 MiB multiples).
    if (elf_.entry().value() % 4 != 0) return fail(PlanErrorCode::EntryMisaligned, {}, elf_.entry().value());

    // RAM, as whole pages.
    auto& ram = plan_.workspace.ram;
    ram.clear();
    plan_.workspace.unmapped_ram.clear();  // a Plan may be reused: nothing of an earlier machine stays
    for (const fdt::MemoryRange& range : machine.memory) {
        const auto begin = range.range.begin().align_up(k4K);
        const PhysicalAddress end = range.range.end().align_down(k4K);
        if (!begin || *begin >= end) continue;
        // No hart can address it, and a page table frame placed there could
        // not be written into a PTE: a tree that claims it is wrong.
        if (end.value() > kmem::kPhysicalAddressLimit)
            return fail(PlanErrorCode::RamBeyondPhysicalAddresses, range.node, range.range.begin().value(),
                        range.range.end().value());
        if (!ram.insert({*begin, end}))
            return fail(PlanErrorCode::CapacityExceeded, "RAM ranges", kPlanMaxRamRanges);
    }
    if (ram.empty()) return fail(PlanErrorCode::NoRam);
    ram_low_ = kmem::align_down(ram[0].begin().value(), k1G);

    // Inputs must lie in RAM: the kernel is told about them by region.
    device_tree_ = {in.device_tree_address, in.device_tree_address + machine.fdt_size};
    kernel_file_ = {in.kernel_address, in.kernel_address + in.kernel.size()};
    // A loader without a kernel of its own takes the kernel from the initrd;
    // then the initrd is the kernel file (exactly its range), and the kernel
    // is told of none.
    if (machine.chosen.has_initrd && machine.chosen.initrd != kernel_file_) initrd_ = machine.chosen.initrd;
    KMEM_TRY(check_in_ram(device_tree_, "device tree"));
    KMEM_TRY(check_in_ram(kernel_file_, "kernel file"));
    KMEM_TRY(check_in_ram(initrd_, "initrd"));
    KMEM_TRY(check_in_ram(in.options.loader_text, "loader text"));
    KMEM_TRY(check_in_ram(in.options.loader_data, "loader data"));
    KMEM_TRY(check_initrd_apart());
    const PhysicalRange text_pages = page_span(in.options.loader_text);
    const PhysicalRange data_pages = page_span(in.options.loader_data);
    if (text_pages.overlaps(data_pages))
        return fail(PlanErrorCode::LoaderRangesSharePage, {}, text_pages.intersection(data_pages).begin().value());

    // Boot hart: the one the loader runs on. U-Boot also names it in /chosen.
    if (machine.chosen.has_boot_hartid && machine.chosen.boot_hartid != in.options.boot_hart_id)
        warn(WarningCode::BootHartMismatch, machine.chosen.boot_hartid, in.options.boot_hart_id);
    const fdt::Hart* boot = machine.find_hart(in.options.boot_hart_id);
    if (boot == nullptr) return fail(PlanErrorCode::BootHartNotFound, {}, in.options.boot_hart_id);
    if (!hart_mode(*boot).usable) {
        std::string_view why = !boot->enabled()        ? "is not enabled (status)"
                               : !boot->has_mmu_type   ? "has no mmu-type (no MMU for S-mode paging)"
                                                       : "has an mmu-type without Sv39/Sv48/Sv57";
        return fail(PlanErrorCode::NoSModeHart, why, in.options.boot_hart_id);
    }

    // Entropy.
    plan_random::Hasher hasher;
    hasher.add(machine.chosen.rng_seed);
    hasher.add(in.options.entropy);
    key_ = hasher.finish();
    entropy_sources_ = (machine.chosen.rng_seed.empty() ? 0 : kEntropyDeviceTree) |
                       (in.options.entropy.empty() ? 0 : in.options.entropy_sources);
    // Bytes whose source nobody names are mixed in but do not count.
    have_entropy_ = entropy_sources_ != 0;
    // loader.kaslr=off outranks the kernel's own wish: it is how a developer
    // gets a kernel whose symbols a debugger can use as linked, and a kernel
    // cannot count on KASLR anyway (without entropy it is off too).
    kaslr_wanted_ = !in.options.kaslr_off &&
                    (config.kaslr == Kaslr::Enabled || (config.kaslr == Kaslr::Default && in.options.kaslr_default));
    if (!have_entropy_) warn(WarningCode::NoEntropy);
    // Only a kernel that asked for KASLR itself is told it cannot have it: the
    // loader's default applies to whatever kernel it is given.
    if (config.kaslr == Kaslr::Enabled && have_entropy_ && !in.options.kaslr_off && !elf_.is_pie())
        warn(WarningCode::KernelNotRelocatable, elf_.image_range().begin().value());
    for (const fdt::DynamicReservation& dynamic : machine.dynamic_reservations)
        warn(WarningCode::DynamicReservationLeft, dynamic.size, dynamic.alignment, dynamic.node);
    return {};
}

// Fills plan_.harts for `mode`: every hart of the device tree, sorted by id;
// those that can run the mode Started as LoaderConfig selects (the boot hart
// always), else NotStarted; the others (disabled, no or an unknown
// mmu-type, one too narrow for the mode) Unusable, so that the kernel sees
// every cpu the tree lists (protocol 1.1).
template <PhysicalMemory P>
void Planner<P>::select_harts(kmem::PagingModeId mode, bool warn_excluded) {
    const fdt::MachineInfo& machine = plan_.machine;
    const fdt::Hart& boot_hart = *machine.find_hart(input_.options.boot_hart_id);
    plan_.harts.clear();
    std::uint64_t usable = 0;
    for (const fdt::Hart& hart : machine.harts) {
        const HartMode hm = effective_hart_mode(hart, boot_hart, input_.options.supported_modes);
        HartPlan entry{};
        entry.hart_id = hart.hart_id;
        if (!hm.usable) {
            entry.state = HartState::Unusable;
        } else if (!mode_at_least(hm.max, mode)) {
            entry.state = HartState::Unusable;
            if (warn_excluded) warn(WarningCode::HartWithoutPagingMode, hart.hart_id, 0, hart.mmu_type);
        } else {
            ++usable;
        }
        (void)plan_.harts.push(entry);  // capacity equals fdt::kMaxHarts
    }
    plan_detail::sort(plan_.harts.begin(), plan_.harts.end(),
              [](const HartPlan& a, const HartPlan& b) { return a.hart_id < b.hart_id; });
    const LoaderConfig& config = plan_.config;
    const std::uint64_t boot = input_.options.boot_hart_id;
    std::uint64_t limit = usable;
    if (config.start_harts == HartSelection::BootHartOnly) limit = 1;
    if (config.start_harts == HartSelection::UpTo) limit = config.max_harts == 0 ? 1 : config.max_harts;
    std::uint64_t started = 0;
    for (HartPlan& hart : plan_.harts) {
        if (hart.hart_id == boot) {
            hart.state = HartState::Started;
            ++started;
        }
    }
    for (HartPlan& hart : plan_.harts) {
        if (hart.state != HartState::NotStarted || started >= limit) continue;
        hart.state = HartState::Started;
        ++started;
    }
    started_harts_ = started;
    if (warn_excluded && usable > started) warn(WarningCode::HartsNotStarted, usable - started);
}

template <PhysicalMemory P>
Result<void> Planner<P>::choose_mode_and_layout() {
    const PlanOptions& options = input_.options;
    const LoaderConfig& config = plan_.config;
    const fdt::Hart* boot = plan_.machine.find_hart(options.boot_hart_id);
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
        PlanError error = make_error(PlanErrorCode::NoPagingMode, why, options.supported_modes.bits(),
                                     options.has_mode_cap ? static_cast<unsigned>(options.mode_cap) : 0);
        return kmem::unexpected(error);
    }

    const auto& ram = plan_.workspace.ram;
    const std::uint64_t ram_high = round_up(ram[ram.size() - 1].end().value(), k1G);
    // Kernel block: at least 2 MiB granularity, more if a segment asks for it.
    std::uint64_t granularity = k2M;
    for (const Segment segment : elf_.load_segments())
        if (segment.memsz != 0 && segment.align > granularity && segment.align <= k1G) granularity = segment.align;
    const VirtualRange image = elf_.image_range();
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
        const unsigned va_bits = kmem::with_paging_mode(mode, []<kmem::PagingMode M>(M) { return M::kVaBits; });
        // The loader's image must be identity-mappable in the lower half.
        const std::uint64_t lower_end = lower_half_end(va_bits);
        bool identity_ok = true;
        for (const PhysicalRange range : {options.loader_text, options.loader_data}) {
            if (!options.identity_map_loader || range.empty() || page_span(range).end().value() <= lower_end) continue;
            if (identity_ok && !have_error) {
                first_error = make_error(PlanErrorCode::LoaderNotIdentityMappable, {}, range.begin().value(),
                                         range.end().value());
                first_error.mode = mode;
                have_error = true;
            }
            identity_ok = false;
        }
        if (!identity_ok) continue;
        select_harts(mode, false);
        LayoutRequest request;
        request.va_bits = va_bits;
        request.physmap_size = ram_high - ram_low_;
        request.kernel_link = link_low;
        request.kernel_size = link_high - link_low;
        request.kernel_granularity = granularity;
        request.kernel_movable = elf_.is_pie();
        request.stacks_size = round_up(started_harts_ * (plan_.config.stack_size + k4K), k2M);
        if (truncate) {
            // The window less the kernel (with its alignment slack) and the
            // stacks, each rounded to the physmap's 1 GiB granularity.
            const std::uint64_t window = kWindowEnd - upper_half_begin(va_bits);
            const std::uint64_t others = round_up(request.kernel_size + granularity, k1G) + round_up(request.stacks_size, k1G);
            if (window <= others + k1G) continue;
            request.physmap_size = kmem::align_down(window - others, k1G);
            if (request.physmap_size >= ram_high - ram_low_) continue;
        }
        request.randomise = kaslr_wanted_ && have_entropy_;
        request.key = key_;
        auto layout = plan_layout(request, mode);
        if (!layout) {
            if (!have_error) first_error = layout.error();
            have_error = true;
            continue;
        }
        plan_.mode = mode;
        plan_.stats.physmap = layout->physmap;
        plan_.stats.kernel = layout->kernel;
        plan_.stats.stacks = layout->stacks;
        plan_.physmap_offset = layout->physmap.block.begin().value() - ram_low_;
        plan_.kaslr_slide = layout->kernel.block.begin().value() - link_low;
        plan_.kaslr = request.randomise && elf_.is_pie();
        plan_.stats.physmap_offset = plan_.physmap_offset;
        plan_.stats.kaslr_slide = plan_.kaslr_slide;
        select_harts(mode, true);
        if (truncate) KMEM_TRY(leave_unmapped(PhysicalAddress(ram_low_ + request.physmap_size), mode));
        return {};
    }
    return kmem::unexpected(first_error);
}

// RAM from `limit` on is beyond the physmap: the planner places nothing
// there, the memory map calls its free pages UsableUnmapped, and every input
// must lie below it (the kernel reads them through the physmap).
template <PhysicalMemory P>
Result<void> Planner<P>::leave_unmapped(PhysicalAddress limit, kmem::PagingModeId mode) {
    auto& ram = plan_.workspace.ram;
    auto& unmapped = plan_.workspace.unmapped_ram;
    unmapped.clear();
    const PhysicalRange beyond{limit, PhysicalAddress(kmem::align_down(~std::uint64_t{0}, k4K))};
    std::uint64_t bytes = 0;
    for (const PhysicalRange range : ram) {
        const PhysicalRange part = range.intersection(beyond);
        if (part.empty()) continue;
        if (!unmapped.insert(part)) return fail(PlanErrorCode::CapacityExceeded, "RAM ranges", kPlanMaxRamRanges);
        bytes += part.size();
    }
    for (const PhysicalRange part : unmapped) (void)ram.remove(part);
    struct Input {
        PhysicalRange range;
        std::string_view what;
    };
    const PlanOptions& options = input_.options;
    for (const Input& input : {Input{device_tree_, "device tree"}, Input{kernel_file_, "kernel file"},
                               Input{initrd_, "initrd"}, Input{options.loader_text, "loader text"},
                               Input{options.loader_data, "loader data"}}) {
        if (input.range.empty() || input.range.end() <= limit) continue;
        PlanError error = make_error(PlanErrorCode::InputBeyondPhysmap, input.what, input.range.begin().value(),
                                     input.range.end().value());
        error.mode = mode;
        return kmem::unexpected(error);
    }
    warn(WarningCode::RamBeyondPhysmap, bytes, limit.value(), kmem::name(mode));
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::reserve_inputs() {
    auto& frames = plan_.workspace.frames;
    frames = Frames{};
    for (const PhysicalRange range : plan_.workspace.ram) {
        if (auto added = frames.add_free(range); !added) {
            PlanError error = make_error(PlanErrorCode::AllocatorCapacity, "free RAM");
            error.alloc = added.error();
            return kmem::unexpected(error);
        }
    }
    auto take = [&](PhysicalRange range, MemoryRegionKind kind, AllocationOrigin origin,
                    std::string_view label) -> Result<void> {
        if (range.empty()) return {};
        KMEM_TRY(record(range, kind, origin, label));
        if (auto reserved = frames.reserve(range); !reserved) {
            PlanError error = make_error(PlanErrorCode::AllocatorCapacity, label);
            error.alloc = reserved.error();
            return kmem::unexpected(error);
        }
        return {};
    };
    const fdt::MachineInfo& machine = plan_.machine;
    for (const fdt::ReservedRange& reserved : machine.reserved) {
        if (reserves_initrd(reserved)) continue;
        const std::string_view label = reserved.source == fdt::ReservationSource::kMemReserve ? std::string_view("/memreserve/")
                                                                                             : reserved.node;
        const MemoryRegionKind kind = reserved.source == fdt::ReservationSource::kFirmwareRuntimeCode
                                          ? MemoryRegionKind::EfiRuntimeCode
                                      : reserved.source == fdt::ReservationSource::kFirmwareRuntimeData
                                          ? MemoryRegionKind::EfiRuntimeData
                                          : MemoryRegionKind::Reserved;
        KMEM_TRY(take(reserved.range, kind, AllocationOrigin::Firmware, label));
    }
    const PlanOptions& options = input_.options;
    struct InputRange {
        PhysicalRange range;
        MemoryRegionKind kind;
        std::string_view label;
    };
    const InputRange inputs[] = {
        {options.loader_text, MemoryRegionKind::LoaderReclaimable, "loader text"},
        {options.loader_data, MemoryRegionKind::LoaderReclaimable, "loader data"},
        {device_tree_, MemoryRegionKind::Fdt, "device tree"},
        {initrd_, MemoryRegionKind::Initrd, "initrd"},
        {kernel_file_, MemoryRegionKind::LoaderReclaimable, "kernel file"},
    };
    for (const InputRange& item : inputs) {
        for (const fdt::ReservedRange& reserved : machine.reserved) {
            if (!reserves_initrd(reserved) && page_span(item.range).overlaps(reserved.range)) {
                warn(WarningCode::InputInReservedMemory, item.range.begin().value(), 0, item.label);
                break;
            }
        }
        KMEM_TRY(take(item.range, item.kind, AllocationOrigin::Input, item.label));
    }
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::load_kernel() {
    const LoaderConfig& config = plan_.config;
    const bool allow_wx = config.allow_write_execute != 0;
    KernelImage& image = image_;
    for (const Segment segment : elf_.load_segments()) {
        if (segment.memsz == 0) continue;
        if (image.segment_count == image.segments.size())
            return fail(PlanErrorCode::CapacityExceeded, "kernel PT_LOAD segments", kPlanMaxKernelSegments);
        KernelSegmentInfo& info = image.segments[image.segment_count++];
        info.segment = segment;
        info.page_begin = kmem::align_down(segment.vaddr.value(), k4K);
        info.page_end = round_up(segment.vaddr.value() + segment.memsz, k4K);
    }
    // Clusters of segments that share pages (sorted by vaddr: parse() checked).
    for (std::size_t i = 0; i < image.segment_count; ++i) {
        const KernelSegmentInfo& info = image.segments[i];
        if (image.cluster_count > 0 && image.clusters[image.cluster_count - 1].page_end > info.page_begin) {
            Cluster& cluster = image.clusters[image.cluster_count - 1];
            cluster.last = i;
            if (info.page_end > cluster.page_end) cluster.page_end = info.page_end;
            cluster.copy = true;
            continue;
        }
        image.clusters[image.cluster_count++] = {i, i, info.page_begin, info.page_end, false, {}};
    }
    // A relocation target must be in a copy; writable segments are copied anyway.
    auto scan = elf_.for_each_relocation(0, [&](const Relocation& relocation) {
        ++plan_.stats.relocations;
        if (Cluster* cluster = image.cluster_of(relocation.target.value())) cluster->copy = true;
    });
    if (!scan) {
        PlanError error = make_error(PlanErrorCode::Relocation);
        error.elf = scan.error();
        return kmem::unexpected(error);
    }
    for (std::size_t c = 0; c < image.cluster_count; ++c) {
        Cluster& cluster = image.clusters[c];
        const Segment& segment = image.segments[cluster.first].segment;
        const std::uint64_t file_address = kernel_file_.begin().value() + segment.file_offset;
        const bool in_place = !cluster.copy && !segment.writable() && segment.file_bytes.size() == segment.memsz &&
                              file_address % k4K == segment.vaddr.value() % k4K;
        if (in_place) {
            cluster.frames = PhysicalAddress(kmem::align_down(file_address, k4K));
            KMEM_TRY(record({cluster.frames, cluster.frames + (cluster.page_end - cluster.page_begin)},
                            MemoryRegionKind::Kernel, AllocationOrigin::Input, "kernel segment (in place)",
                            segment.index));
            plan_.stats.in_place_kernel_bytes += cluster.page_end - cluster.page_begin;
            continue;
        }
        cluster.copy = true;
        const PhysicalRange frames = KMEM_TRY(allocate(cluster.page_end - cluster.page_begin, k4K,
                                                       MemoryRegionKind::Kernel, "kernel segment (copy)", segment.index));
        cluster.frames = frames.begin();
        plan_.stats.copied_kernel_bytes += frames.size();
        // Each byte is written once: the file's bytes, and zeros only where
        // no segment's file bytes go (page heads and tails, .bss, gaps).
        std::uint64_t written = cluster.page_begin;  // linked address the copy is complete up to
        auto zero_up_to = [&](std::uint64_t link_end) {
            if (link_end <= written) return;
            zero_physical(memory_, {cluster.frames + (written - cluster.page_begin),
                                    cluster.frames + (link_end - cluster.page_begin)});
            written = link_end;
        };
        for (std::size_t i = cluster.first; i <= cluster.last; ++i) {
            const Segment& s = image.segments[i].segment;
            zero_up_to(s.vaddr.value());
            write_physical(memory_, cluster.frames + (s.vaddr.value() - cluster.page_begin), s.file_bytes);
            if (s.vaddr.value() + s.file_bytes.size() > written) written = s.vaddr.value() + s.file_bytes.size();
        }
        zero_up_to(cluster.page_end);
    }
    // Relocations, written into the copies with the chosen slide.
    const std::uint64_t slide = plan_.kaslr_slide;
    auto applied = elf_.for_each_relocation(slide, [&](const Relocation& relocation) {
        Cluster* cluster = image.cluster_of(relocation.target.value());
        KMEM_ASSERT(cluster != nullptr && cluster->copy);
        std::byte value[8];
        for (unsigned i = 0; i < 8; ++i) value[i] = static_cast<std::byte>(relocation.value >> (8 * i));
        write_physical(memory_, cluster->frames + (relocation.target.value() - cluster->page_begin), value);
    });
    if (!applied) {
        PlanError error = make_error(PlanErrorCode::Relocation);
        error.elf = applied.error();
        return kmem::unexpected(error);
    }
    // Pieces: each run of pages with one set of permissions. RELRO pages lose
    // W (glibc's rule: both ends rounded down to a page).
    const RelroSegment relro = elf_.relro();
    const std::uint64_t relro_begin = relro.present ? kmem::align_down(relro.range.begin().value(), k4K) : 0;
    const std::uint64_t relro_end = relro.present ? kmem::align_down(relro.range.end().value(), k4K) : 0;
    for (std::size_t c = 0; c < image.cluster_count; ++c) {
        const Cluster& cluster = image.clusters[c];
        std::array<std::uint64_t, 2 * kPlanMaxKernelSegments + 4> cuts{};
        std::size_t cut_count = 0;
        auto cut = [&](std::uint64_t at) {
            if (at >= cluster.page_begin && at <= cluster.page_end) cuts[cut_count++] = at;
        };
        cut(cluster.page_begin);
        cut(cluster.page_end);
        for (std::size_t i = cluster.first; i <= cluster.last; ++i) {
            cut(image.segments[i].page_begin);
            cut(image.segments[i].page_end);
            // The shared page itself is its own piece.
            if (i > cluster.first) cut(image.segments[i].page_begin + k4K);
            if (i < cluster.last) cut(image.segments[i].page_end - k4K);
        }
        if (relro.present) {
            cut(relro_begin);
            cut(relro_end);
        }
        sort(cuts.data(), cuts.data() + cut_count, [](std::uint64_t a, std::uint64_t b) { return a < b; });
        for (std::size_t k = 0; k + 1 < cut_count; ++k) {
            const std::uint64_t low = cuts[k];
            const std::uint64_t high = cuts[k + 1];
            if (low == high) continue;
            kmem::PageFlags flags{};
            std::size_t covering = 0;
            std::size_t segment_index = 0;
            bool differ = false;
            for (std::size_t i = cluster.first; i <= cluster.last; ++i) {
                const KernelSegmentInfo& info = image.segments[i];
                if (low < info.page_begin || low >= info.page_end) continue;
                const kmem::PageFlags own = segment_flags(info.segment, allow_wx);
                if (covering == 0) {
                    flags = own;
                    segment_index = info.segment.index;
                } else {
                    differ = differ || !(own == flags);
                    flags = union_flags(flags, own);
                }
                ++covering;
            }
            KMEM_ASSERT(covering > 0);
            if (flags.write && relro.present && low >= relro_begin && high <= relro_end) flags.write = false;
            if (differ) {
                if (flags.write && flags.execute && !allow_wx)
                    return fail(PlanErrorCode::SharedPageWriteExecute, {}, low);
                warn(WarningCode::SharedPagePermissions, low);
            }
            flags.allow_write_execute = flags.write && flags.execute;
            KernelPiece* last = image.piece_count > 0 ? &image.pieces[image.piece_count - 1] : nullptr;
            if (last != nullptr && last->link_end == low && last->flags == flags && last->copied == cluster.copy &&
                last->frames + (last->link_end - last->link_begin) == cluster.frames + (low - cluster.page_begin)) {
                last->link_end = high;
                continue;
            }
            if (image.piece_count == image.pieces.size())
                return fail(PlanErrorCode::CapacityExceeded, "kernel pieces", kPlanMaxKernelPieces);
            image.pieces[image.piece_count++] = {low, high, cluster.frames + (low - cluster.page_begin), flags,
                                                 cluster.copy, segment_index};
        }
    }
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::allocate_stacks_and_tls() {
    const std::uint64_t stack_size = plan_.config.stack_size;
    const std::uint64_t base = plan_.stats.stacks.block.begin().value();
    std::uint64_t slot = 0;
    for (HartPlan& hart : plan_.harts) {
        if (hart.state != HartState::Started) continue;
        const std::uint64_t guard = base + slot * (stack_size + k4K);
        ++slot;
        hart.stack = {VirtualAddress(guard + k4K), VirtualAddress(guard + k4K + stack_size)};
        hart.sp = hart.stack.end();
        hart.stack_frames = KMEM_TRY(allocate(stack_size, k4K, MemoryRegionKind::KernelStack, "stack", hart.hart_id));
    }
    const TlsSegment tls = elf_.tls();
    if (!tls.present || tls.memsz == 0) return {};
    const std::uint64_t alignment = tls.align < 8 ? 8 : tls.align;
    tls_stride_ = round_up(tls.memsz, alignment);
    tls_frames_ = KMEM_TRY(allocate(tls_stride_ * started_harts_, alignment < k4K ? k4K : alignment,
                                    MemoryRegionKind::Tls, "TLS blocks", kNoIndex));
    // One block, relocated as the kernel sees it, then copied per hart.
    zero_physical(memory_, tls_frames_);
    std::byte chunk[256];
    for (std::uint64_t done = 0; done < tls.init_image.size();) {
        std::uint64_t n = tls.init_image.size() - done;
        if (n > sizeof chunk) n = sizeof chunk;
        read_kernel(tls.vaddr.value() + done, {chunk, static_cast<std::size_t>(n)});
        std::uint64_t at = tls_frames_.begin().value() + done;
        for (std::uint64_t k = 0; k < started_harts_; ++k, at += tls_stride_)
            write_physical(memory_, PhysicalAddress(at), {chunk, static_cast<std::size_t>(n)});
        done += n;
    }
    std::uint64_t index = 0;
    for (HartPlan& hart : plan_.harts) {
        if (hart.state != HartState::Started) continue;
        const PhysicalAddress block = tls_frames_.begin() + index * tls_stride_;
        ++index;
        hart.tls_frames = {block, block + tls_stride_};
        hart.tp = VirtualAddress(block.value() + plan_.physmap_offset);
        hart.tls = {hart.tp, hart.tp + tls.memsz};
    }
    return {};
}

// Adds the leaves PageTable::map() makes for [va, va + size) -> pa to
// leaves[level], by its rule: at each step the largest page (up to
// kMaxLeafLevel) that both addresses are aligned to and the rest of the
// range holds. A few steps per leaf, where walking the finished tables
// takes a pass over every entry of every table (4096 entries for QEMU virt,
// more than building them cost).
template <kmem::PagingMode M>
constexpr void add_leaves(std::uint64_t va, std::uint64_t pa, std::uint64_t size, std::uint64_t (&leaves)[5]) {
    while (size != 0) {
        unsigned level = M::kMaxLeafLevel;
        while (level > 0 && ((va | pa) % M::page_size(level) != 0 || size < M::page_size(level))) --level;
        const std::uint64_t page = M::page_size(level);
        ++leaves[level];
        va += page;
        pa += page;
        size -= page;
    }
}

template <PhysicalMemory P>
template <kmem::PagingMode M>
Result<void> Planner<P>::build_tables() {
    TableMemory<P> tables(plan_.workspace.frames, memory_, plan_);
    auto created = kmem::PageTable<M, TableMemory<P>>::create(tables);
    if (!created) {
        PlanError error = make_error(tables.capacity_hit() ? PlanErrorCode::CapacityExceeded : PlanErrorCode::OutOfMemory,
                                     tables.capacity_hit() ? "allocations" : "page tables", kPlanMaxAllocations);
        error.alloc = tables.last_error();
        return kmem::unexpected(error);
    }
    auto table = std::move(*created);
    auto map = [&](VirtualAddress va, PhysicalAddress pa, std::uint64_t size, kmem::PageFlags flags) -> Result<void> {
        auto mapped = table.map(va, pa, size, flags);
        if (mapped) {
            add_leaves<M>(va.value(), pa.value(), size, plan_.stats.leaves);
            return {};
        }
        PlanError error{};
        if (mapped.error().code == kmem::PageTableErrorCode::OutOfFrames) {
            error = make_error(tables.capacity_hit() ? PlanErrorCode::CapacityExceeded : PlanErrorCode::OutOfMemory,
                               tables.capacity_hit() ? "allocations" : "page tables", kPlanMaxAllocations);
            error.alloc = tables.last_error();
        } else {
            error = make_error(PlanErrorCode::PageTable);
        }
        error.page_table = mapped.error();
        return kmem::unexpected(error);
    };
    const std::uint64_t offset = plan_.physmap_offset;
    for (const PhysicalRange range : plan_.workspace.ram)
        KMEM_TRY(map(VirtualAddress(range.begin().value() + offset), range.begin(), range.size(),
                     kmem::PageFlags::read_write()));
    const std::uint64_t slide = plan_.kaslr_slide;
    for (std::size_t i = 0; i < image_.piece_count; ++i) {
        const KernelPiece& piece = image_.pieces[i];
        KMEM_TRY(map(VirtualAddress(piece.link_begin + slide), piece.frames, piece.link_end - piece.link_begin,
                     piece.flags));
    }
    for (const HartPlan& hart : plan_.harts) {
        if (hart.state != HartState::Started) continue;
        KMEM_TRY(map(hart.stack.begin(), hart.stack_frames.begin(), hart.stack.size(), kmem::PageFlags::read_write()));
    }
    const PlanOptions& options = input_.options;
    if (options.identity_map_loader) {
        const PhysicalRange text = page_span(options.loader_text);
        const PhysicalRange data = page_span(options.loader_data);
        kmem::PageFlags text_flags = kmem::PageFlags::read_execute();
        if (options.loader_image_rwx) text_flags = {.read = true, .write = true, .execute = true, .allow_write_execute = true};
        if (!text.empty()) KMEM_TRY(map(VirtualAddress(text.begin().value()), text.begin(), text.size(), text_flags));
        if (!data.empty())
            KMEM_TRY(map(VirtualAddress(data.begin().value()), data.begin(), data.size(), kmem::PageFlags::read_write()));
    }
    plan_.root = table.root();
    plan_.satp = table.satp();
    plan_.stats.table_frames = table.table_frames();
    return {};
}

// Orders allocations for the memory map: inputs the kernel must keep win
// over reserved memory, which wins over what the loader leaves behind.
constexpr int region_priority(const Allocation& allocation) {
    if (allocation.origin == AllocationOrigin::Planner) return 5;
    if (allocation.origin == AllocationOrigin::Firmware) return 3;
    switch (allocation.kind) {
        case MemoryRegionKind::Kernel: return 0;
        case MemoryRegionKind::Fdt: return 1;
        case MemoryRegionKind::Initrd: return 2;
        default: return 4;
    }
}

template <PhysicalMemory P>
Result<void> Planner<P>::compute_regions() {
    auto& pieces = plan_.workspace.pieces;
    auto& claimed = plan_.workspace.claimed;
    const auto& ram = plan_.workspace.ram;
    pieces.clear();
    claimed.clear();
    const auto& unmapped = plan_.workspace.unmapped_ram;
    auto add_piece = [&](PhysicalRange range, MemoryRegionKind kind) -> Result<void> {
        // Clip to RAM: reserved ranges may describe device memory too.
        for (const auto* members : {&ram, &unmapped}) {
            for (const PhysicalRange member : *members) {
                const PhysicalRange part = member.intersection(range);
                if (part.empty()) continue;
                if (!pieces.push({PhysRange::from(part), kind, 0}))
                    return fail(PlanErrorCode::CapacityExceeded, "memory regions", kPlanMaxRegions);
            }
        }
        return {};
    };
    for (int priority = 0; priority <= 5; ++priority) {
        for (const Allocation& allocation : plan_.allocations) {
            if (region_priority(allocation) != priority) continue;
            const PhysicalRange range = page_span(allocation.range);
            if (range.empty()) continue;
            if (priority == 5) {
                // The allocator never hands out anything claimed before.
                if (!pieces.push({PhysRange::from(range), allocation.kind, 0}))
                    return fail(PlanErrorCode::CapacityExceeded, "memory regions", kPlanMaxRegions);
                continue;
            }
            std::uint64_t cursor = range.begin().value();
            for (const PhysicalRange taken : claimed) {
                if (taken.end().value() <= cursor) continue;
                if (taken.begin() >= range.end()) break;
                if (taken.begin().value() > cursor)
                    KMEM_TRY(add_piece({PhysicalAddress(cursor), taken.begin()}, allocation.kind));
                cursor = taken.end().value();
            }
            if (cursor < range.end().value()) KMEM_TRY(add_piece({PhysicalAddress(cursor), range.end()}, allocation.kind));
            if (!claimed.insert(range))
                return fail(PlanErrorCode::CapacityExceeded, "claimed ranges", kPlanMaxAllocations);
        }
    }
    plan_detail::sort(pieces.begin(), pieces.end(),
              [](const MemoryRegion& a, const MemoryRegion& b) { return a.range.begin < b.range.begin; });
    auto& regions = plan_.regions;
    regions.clear();
    auto emit = [&](std::uint64_t begin, std::uint64_t end, MemoryRegionKind kind) -> Result<void> {
        if (begin >= end) return {};
        if (!regions.empty() && regions.back().range.end == begin && regions.back().kind == kind) {
            regions.back().range.end = end;
            return {};
        }
        if (!regions.push({{begin, end}, kind, 0}))
            return fail(PlanErrorCode::CapacityExceeded, "memory regions", kPlanMaxRegions);
        return {};
    };
    // The physmap's RAM lies below the unmapped RAM (leave_unmapped), so
    // walking one set and then the other keeps address order.
    std::size_t next = 0;
    for (const auto* members : {&ram, &unmapped}) {
        const MemoryRegionKind free = members == &ram ? MemoryRegionKind::Usable : MemoryRegionKind::UsableUnmapped;
        for (const PhysicalRange member : *members) {
            std::uint64_t cursor = member.begin().value();
            while (next < pieces.size() && pieces[next].range.begin < member.end().value()) {
                const MemoryRegion& piece = pieces[next++];
                KMEM_TRY(emit(cursor, piece.range.begin, free));
                KMEM_TRY(emit(piece.range.begin, piece.range.end, piece.kind));
                cursor = piece.range.end;
            }
            KMEM_TRY(emit(cursor, member.end().value(), free));
        }
    }
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::build_boot_info() {
    const fdt::MachineInfo& machine = plan_.machine;
    const std::string_view command_line = machine.chosen.has_bootargs ? machine.chosen.bootargs : std::string_view{};
    if (command_line.size() > kPlanMaxCommandLine)
        return fail(PlanErrorCode::CapacityExceeded, "command line bytes", kPlanMaxCommandLine);
    // The BootInfo's own frames can split one Usable region into three.
    KMEM_TRY(compute_regions());
    const BootInfoCapacity capacity{static_cast<std::uint32_t>(plan_.harts.size()),
                                    static_cast<std::uint32_t>(plan_.regions.size() + 2),
                                    static_cast<std::uint32_t>(image_.piece_count),
                                    static_cast<std::uint32_t>(command_line.size()),
                                    static_cast<std::uint32_t>(input_.options.efi_memory_map.size())};
    if (capacity.efi_memory_map > kPlanMaxEfiMemoryMap)
        return fail(PlanErrorCode::CapacityExceeded, "EFI memory map bytes", kPlanMaxEfiMemoryMap);
    if (capacity.regions > kPlanMaxRegions)
        return fail(PlanErrorCode::CapacityExceeded, "memory regions", kPlanMaxRegions);
    const std::uint64_t size = required_size(capacity);
    const PhysicalRange frames = KMEM_TRY(allocate(size, k4K, MemoryRegionKind::BootInfo, "BootInfo", kNoIndex));
    KMEM_TRY(compute_regions());

    auto builder_result = BootInfoBuilder::create(std::span<std::byte>(plan_.boot_info_bytes.data(), size), capacity);
    if (!builder_result) {
        PlanError error = make_error(PlanErrorCode::BootInfoBuild);
        error.build = builder_result.error();
        return kmem::unexpected(error);
    }
    BootInfoBuilder builder = *builder_result;
    auto check = [](kmem::Expected<void, BuildError> result) -> Result<void> {
        if (result) return {};
        PlanError error = make_error(PlanErrorCode::BootInfoBuild);
        error.build = result.error();
        return kmem::unexpected(error);
    };
    BootInfo& info = builder.info();
    info.boot_hart_id = input_.options.boot_hart_id;
    for (const HartPlan& hart : plan_.harts)
        KMEM_TRY(check(builder.add_hart({hart.hart_id, hart.state, hart.sbi_error, VirtRange::from(hart.stack),
                                         VirtRange::from(hart.tls)})));
    for (const MemoryRegion& region : plan_.regions) KMEM_TRY(check(builder.add_region(region)));
    const std::uint64_t slide = plan_.kaslr_slide;
    for (std::size_t i = 0; i < image_.piece_count; ++i) {
        const KernelPiece& piece = image_.pieces[i];
        std::uint32_t flags = 0;
        if (piece.flags.read) flags |= kSegmentRead;
        if (piece.flags.write) flags |= kSegmentWrite;
        if (piece.flags.execute) flags |= kSegmentExecute;
        if (piece.copied) flags |= kSegmentCopied;
        KMEM_TRY(check(builder.add_segment(
            {{piece.link_begin + slide, piece.link_end + slide}, piece.frames.value(), flags, 0})));
    }
    KMEM_TRY(check(builder.set_command_line(command_line)));
    const PlanOptions& options = input_.options;
    KMEM_TRY(check(builder.set_efi_memory_map(options.efi_memory_map, options.efi_memory_descriptor_size,
                                              options.efi_memory_descriptor_version)));
    info.efi_system_table = options.efi_system_table;
    info.entropy_sources = entropy_sources_;

    const auto& ram = plan_.workspace.ram;
    info.paging_mode = to_paging_mode(plan_.mode);
    info.root_table = plan_.root.value();
    info.physmap_offset = plan_.physmap_offset;
    plan_.physmap = {VirtualAddress(ram[0].begin().value() + plan_.physmap_offset),
                     VirtualAddress(ram[ram.size() - 1].end().value() + plan_.physmap_offset)};
    info.physmap = VirtRange::from(plan_.physmap);
    const std::uint64_t kernel_begin = image_.pieces[0].link_begin + slide;
    const std::uint64_t kernel_end = image_.pieces[image_.piece_count - 1].link_end + slide;
    plan_.kernel_virtual = {VirtualAddress(kernel_begin), VirtualAddress(kernel_end)};
    info.kernel_virtual = VirtRange::from(plan_.kernel_virtual);
    info.kaslr_slide = slide;
    info.kernel_file = PhysRange::from(kernel_file_);
    const TlsSegment tls = elf_.tls();
    if (tls.present && tls.memsz != 0) {
        info.tls_template = {tls.vaddr.value() + slide, tls.init_image.size(), tls.memsz, tls.align};
    }
    info.device_tree = PhysRange::from(device_tree_);
    info.initrd = PhysRange::from(initrd_);

    // Random bytes from their own stream, never the KASLR ones.
    plan_random::SplitMix64 random =
        have_entropy_ ? plan_random::stream(key_, plan_random::Stream::BootInfoRandom)
                      : plan_random::stream(plan_random::mix64(input_.options.loader_entry_time) ^
                                                input_.options.loader_entry_instret ^ key_,
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

    const fdt::Hart* boot = machine.find_hart(input_.options.boot_hart_id);
    std::uint64_t frequency = boot->timebase_frequency != 0 ? boot->timebase_frequency : machine.timebase_frequency;
    if (frequency == 0) {
        frequency = kDefaultTimebaseFrequency;
        warn(WarningCode::NoTimebase, frequency);
    }
    info.timebase_frequency = frequency;
    info.timestamps = {input_.options.loader_entry_time, input_.options.loader_entry_instret,
                       input_.options.loader_entry_time, input_.options.loader_entry_instret};

    plan_.boot_info_physical = frames.begin();
    plan_.boot_info_virtual = VirtualAddress(frames.begin().value() + plan_.physmap_offset);
    plan_.boot_info_size = info.header.total_size;
    write_physical(memory_, frames.begin(), std::span<const std::byte>(plan_.boot_info_bytes.data(), size));
    zero_physical(memory_, {frames.begin() + size, frames.end()});

    if (auto valid = validate(plan_.boot_info(), size); !valid) {
        PlanError error = make_error(PlanErrorCode::BootInfoInvalid);
        error.validation = valid.error();
        return kmem::unexpected(error);
    }
    return {};
}

template <PhysicalMemory P>
Result<void> Planner<P>::run() {
    KMEM_TRY(read_inputs());
    KMEM_TRY(choose_mode_and_layout());
    KMEM_TRY(reserve_inputs());
    KMEM_TRY(load_kernel());
    KMEM_TRY(allocate_stacks_and_tls());
    KMEM_TRY(kmem::with_paging_mode(plan_.mode, [&]<kmem::PagingMode M>(M) { return build_tables<M>(); }));
    KMEM_TRY(build_boot_info());
    plan_.entry = VirtualAddress(elf_.entry().value() + plan_.kaslr_slide);

    // The virtual areas, for printing: lower half first, ascending.
    const PlanOptions& options = input_.options;
    if (options.identity_map_loader) {
        if (!options.loader_text.empty()) {
            const PhysicalRange text = page_span(options.loader_text);
            KMEM_TRY(add_area({AreaKind::Identity, "loader text (identity)", kNoIndex,
                               {VirtualAddress(text.begin().value()), VirtualAddress(text.end().value())}, text.begin(),
                               options.loader_image_rwx ? kmem::PageFlags{.read = true, .write = true, .execute = true,
                                                                          .allow_write_execute = true}
                                                        : kmem::PageFlags::read_execute(),
                               true, false}));
        }
        if (!options.loader_data.empty()) {
            const PhysicalRange data = page_span(options.loader_data);
            KMEM_TRY(add_area({AreaKind::Identity, "loader data (identity)", kNoIndex,
                               {VirtualAddress(data.begin().value()), VirtualAddress(data.end().value())}, data.begin(),
                               kmem::PageFlags::read_write(), true, false}));
        }
    }
    KMEM_TRY(add_area({AreaKind::Physmap, "physmap", kNoIndex, plan_.physmap, plan_.workspace.ram[0].begin(),
                       kmem::PageFlags::read_write(), true, false}));
    for (std::size_t i = 0; i < image_.piece_count; ++i) {
        const KernelPiece& piece = image_.pieces[i];
        KMEM_TRY(add_area({AreaKind::Kernel, piece.copied ? "kernel (copy)" : "kernel (in place)", piece.segment_index,
                           {VirtualAddress(piece.link_begin + plan_.kaslr_slide),
                            VirtualAddress(piece.link_end + plan_.kaslr_slide)},
                           piece.frames, piece.flags, true, piece.copied}));
    }
    for (const HartPlan& hart : plan_.harts) {
        if (hart.state != HartState::Started) continue;
        KMEM_TRY(add_area({AreaKind::Guard, "guard", hart.hart_id, {hart.stack.begin() - k4K, hart.stack.begin()}, {},
                           {}, false, false}));
        KMEM_TRY(add_area({AreaKind::Stack, "stack", hart.hart_id, hart.stack, hart.stack_frames.begin(),
                           kmem::PageFlags::read_write(), true, false}));
    }
    plan_detail::sort(plan_.areas.begin(), plan_.areas.end(),
              [](const VirtualArea& a, const VirtualArea& b) { return a.range.begin() < b.range.begin(); });
    return {};
}

template <PhysicalMemory P>
void write_boot_info(Plan& plan, P& memory) {
    write_physical(memory, plan.boot_info_physical,
                   std::span<const std::byte>(plan.boot_info_bytes.data(), plan.boot_info_size));
}

}  // namespace plan_detail

// Plans the boot: on success `plan` is complete, its page tables and
// BootInfo are written to `memory`, and the loader only has to start the
// harts (then mark_hart_failed / set_handoff_timestamps) and jump. On error
// `plan` holds whatever was done so far and `memory` may have been written
// in frames that were free.
template <PhysicalMemory P>
kmem::Expected<void, PlanError> make_plan(const PlanInput& input, Plan& plan, P& memory) {
    plan.allocations.clear();
    plan.areas.clear();
    plan.regions.clear();
    plan.harts.clear();
    plan.warnings.clear();
    plan.warnings_dropped = 0;
    plan.stats = {};
    plan_detail::Planner<P> planner(input, plan, memory);
    return planner.run();
}

// Records that a hart the plan started could not be started (SBI HSM
// hart_start failed with `sbi_error`), in the Plan and in the BootInfo
// frames. The boot hart cannot fail.
template <PhysicalMemory P>
kmem::Expected<void, PlanError> mark_hart_failed(Plan& plan, std::uint64_t hart_id, std::int32_t sbi_error, P& memory) {
    const BootInfo& info = plan.boot_info();
    if (hart_id == info.boot_hart_id)
        return plan_detail::fail(PlanErrorCode::UnknownHart, " is the boot hart, which cannot fail", hart_id);
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
    return plan_detail::fail(PlanErrorCode::UnknownHart, {}, hart_id);
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
