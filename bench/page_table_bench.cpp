// Host page-table builder benchmark (issue 7, figure 4).
//
//   page_table_bench WORKLOAD BUILDER MODE [--small]
//     WORKLOAD: physmap | scattered | kernel
//     BUILDER:  kmem (kmem::PageTable::map per segment) | naive (4 KiB pages, full walk each)
//     MODE:     sv39 | sv48 | sv57
//   page_table_bench --smoke    every combination on small inputs
//
// Only the build (create + every map) is counted when run under
// `valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no`: the
// client requests switch instrumentation and collection on around it, so
// workload generation and the checks afterwards cost nothing in the figure.
// The checks always run: every sampled page must translate to its pa with its
// flags, the leaves must cover exactly the mapped bytes, and kmem must use
// exactly the minimum number of table frames for the leaves it wrote.
//
// Prints one line of key=value pairs per build; exits 1 when a check fails.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "callgrind_markers.hpp"
#include "host_memory.hpp"
#include "kmem/page_table.hpp"
#include "loader_api/plan/random.hpp"
#include "naive_page_table.hpp"

namespace {

using namespace kmem::literals;
using kmem::PageFlags;
using kmem::PhysicalAddress;
using kmem::VirtualAddress;

struct Segment {
    VirtualAddress va;
    PhysicalAddress pa;
    std::uint64_t size = 0;
    PageFlags flags;
};

struct Workload {
    std::string name;
    std::vector<Segment> segments;
    std::uint64_t pages = 0;
};

template <kmem::PagingMode Mode>
Workload physmap(std::uint64_t bytes) {
    // RAM at QEMU virt's 0x80000000, mapped at the start of the upper half:
    // both 1 GiB aligned, so the best builder needs one leaf per GiB.
    Workload workload{"physmap", {{VirtualAddress(Mode::kUpperHalfBegin), PhysicalAddress(0x8000'0000), bytes,
                                   PageFlags{.read = true, .write = true, .global = true}}}, 0};
    workload.pages = bytes / kmem::kPageSize;
    return workload;
}

// `count` distinct pages drawn from a window about 2.6 times as large (so
// most leaf tables are shared but sparse), in random order, each to a
// random frame of 64 GiB of RAM.
template <kmem::PagingMode Mode>
Workload scattered(std::uint64_t count) {
    const std::uint64_t window_pages = (count * 21 / 8 + 511) / 512 * 512;
    const std::uint64_t window_base = Mode::kUpperHalfBegin + 128_GiB;
    std::vector<bool> taken(window_pages, false);
    // A fixed seed gives the same "random" layout on every machine.
    loader_api::plan_random::SplitMix64 random{0x6b6d'656d'2d62'656e};
    Workload workload{"scattered", {}, count};
    workload.segments.reserve(count);
    while (workload.segments.size() < count) {
        const std::uint64_t page = random.below(window_pages);
        if (taken[page]) continue;
        taken[page] = true;
        const std::uint64_t frame = random.below(64_GiB / kmem::kPageSize);
        workload.segments.push_back({VirtualAddress(window_base + page * kmem::kPageSize),
                                     PhysicalAddress(0x8000'0000 + frame * kmem::kPageSize), kmem::kPageSize,
                                     PageFlags::read_write()});
    }
    return workload;
}

// A kernel linked at -2 GiB and loaded 4 KiB past a 2 MiB boundary, as a
// loader that packs images does: va and pa disagree modulo 2 MiB, so every
// leaf is a 4 KiB page.
Workload kernel_image() {
    const std::uint64_t va = 0xffff'ffff'8000'0000;
    const std::uint64_t pa = 0x8020'1000;
    Workload workload{"kernel", {
        {VirtualAddress(va), PhysicalAddress(pa), 2_MiB, PageFlags{.read = true, .execute = true, .global = true}},
        {VirtualAddress(va + 2_MiB), PhysicalAddress(pa + 2_MiB), 512_KiB, PageFlags{.read = true, .global = true}},
        {VirtualAddress(va + 2_MiB + 512_KiB), PhysicalAddress(pa + 2_MiB + 512_KiB), 1536_KiB,
         PageFlags{.read = true, .write = true, .global = true}},
    }, 0};
    workload.pages = 4_MiB / kmem::kPageSize;
    return workload;
}

// Enough frames for a 4 KiB-granular build: one leaf table per 512 pages
// (+1 per segment for misalignment, bounded by the pages), plus the upper
// levels of every path.
std::size_t frame_budget(const Workload& workload, unsigned levels) {
    const std::uint64_t segments = workload.segments.size();
    const std::uint64_t leaf_tables = std::min(workload.pages, workload.pages / 512 + segments + 1);
    return static_cast<std::size_t>(leaf_tables * 2 + 64 * levels);
}

struct Result {
    std::uint64_t leaves = 0;
    std::uint64_t leaf_bytes = 0;
    std::uint64_t table_frames = 0;
    std::uint64_t minimum_frames = 0;
    std::uint64_t checked_pages = 0;
    std::string failure;
};

// The sorted 4 KiB leaves a workload asks for, in the shape
// kmem::minimum_table_frames takes.
std::vector<kmem::Leaf> page_leaves(const Workload& workload) {
    std::vector<kmem::Leaf> leaves;
    leaves.reserve(workload.pages);
    for (const Segment& segment : workload.segments)
        for (std::uint64_t offset = 0; offset < segment.size; offset += kmem::kPageSize)
            leaves.push_back(kmem::Leaf{segment.va + offset, segment.pa + offset, kmem::kPageSize, 0, {}});
    std::sort(leaves.begin(), leaves.end(),
              [](const kmem::Leaf& a, const kmem::Leaf& b) { return a.va < b.va; });
    return leaves;
}

// Checks a sample of pages (every page of small workloads, about 64k spread
// evenly over large ones, always the first and last of each segment).
template <class Lookup>
void check_pages(const Workload& workload, Lookup&& lookup, Result& result) {
    const std::uint64_t stride = std::max<std::uint64_t>(1, workload.pages / 65536);
    for (const Segment& segment : workload.segments) {
        const std::uint64_t pages = segment.size / kmem::kPageSize;
        const auto check = [&](std::uint64_t page) {
            const VirtualAddress va = segment.va + page * kmem::kPageSize;
            PhysicalAddress pa;
            PageFlags flags;
            if (!lookup(va, pa, flags)) {
                result.failure = "page " + std::to_string(va.value()) + " is not mapped";
                return false;
            }
            if (pa != segment.pa + page * kmem::kPageSize || flags != segment.flags.normalized()) {
                result.failure = "page " + std::to_string(va.value()) + " maps the wrong frame or flags";
                return false;
            }
            ++result.checked_pages;
            return true;
        };
        for (std::uint64_t page = 0; page < pages; page += stride)
            if (!check(page)) return;
        if ((pages - 1) % stride != 0 && !check(pages - 1)) return;
    }
}

template <kmem::PagingMode Mode>
[[gnu::noinline]] bool build_kmem(kmem::PageTable<Mode, bench::HostMemory>& table, bench::HostMemory& memory,
                                  const Workload& workload) {
    auto created = kmem::PageTable<Mode, bench::HostMemory>::create(memory);
    if (!created) return false;
    table = std::move(*created);
    for (const Segment& segment : workload.segments)
        if (!table.map(segment.va, segment.pa, segment.size, segment.flags)) return false;
    return true;
}

template <kmem::PagingMode Mode>
[[gnu::noinline]] bool build_naive(bench::NaivePageTable<Mode, bench::HostMemory>& table, const Workload& workload) {
    if (!table.create()) return false;
    for (const Segment& segment : workload.segments)
        if (!table.map(segment.va, segment.pa, segment.size, segment.flags)) return false;
    return true;
}

template <kmem::PagingMode Mode>
Result run_kmem(const Workload& workload) {
    Result result;
    bench::HostMemory memory(frame_budget(workload, Mode::kLevels));
    kmem::PageTable<Mode, bench::HostMemory> table;
    BENCH_MEASURE_BEGIN();
    const bool built = build_kmem<Mode>(table, memory, workload);
    BENCH_MEASURE_END();
    if (!built) {
        result.failure = "kmem::PageTable::map failed";
        return result;
    }
    std::vector<kmem::Leaf> leaves;
    table.for_each_leaf([&](const kmem::Leaf& leaf) { leaves.push_back(leaf); });
    result.leaves = leaves.size();
    for (const kmem::Leaf& leaf : leaves) result.leaf_bytes += leaf.size;
    result.table_frames = table.table_frames();
    result.minimum_frames = kmem::minimum_table_frames<Mode>(leaves);
    if (memory.live_frames() != table.table_frames()) result.failure = "table_frames() disagrees with the frames taken";
    check_pages(workload, [&](VirtualAddress va, PhysicalAddress& pa, PageFlags& flags) {
        auto translation = table.translate(va);
        if (!translation) return false;
        pa = translation->pa;
        flags = translation->flags;
        return true;
    }, result);
    return result;
}

template <kmem::PagingMode Mode>
Result run_naive(const Workload& workload) {
    Result result;
    bench::HostMemory memory(frame_budget(workload, Mode::kLevels));
    bench::NaivePageTable<Mode, bench::HostMemory> table(memory);
    BENCH_MEASURE_BEGIN();
    const bool built = build_naive<Mode>(table, workload);
    BENCH_MEASURE_END();
    if (!built) {
        result.failure = "out of frames";
        return result;
    }
    result.leaves = table.leaves();
    result.leaf_bytes = table.leaves() * kmem::kPageSize;
    result.table_frames = table.table_frames();
    result.minimum_frames = kmem::minimum_table_frames<Mode>(page_leaves(workload));
    check_pages(workload, [&](VirtualAddress va, PhysicalAddress& pa, PageFlags& flags) {
        const kmem::Pte entry = table.lookup(va);
        if (!entry.is_leaf()) return false;
        pa = entry.address();
        flags = entry.flags();
        return true;
    }, result);
    return result;
}

template <kmem::PagingMode Mode>
Workload make_workload(std::string_view name, bool small) {
    if (name == "physmap") return physmap<Mode>(small ? 1_GiB + 6_MiB + 12_KiB : 16_GiB);
    if (name == "scattered") return scattered<Mode>(small ? 3000 : 100'000);
    return kernel_image();
}

// One build and its checks; prints the result line. Returns false on failure.
bool run_one(std::string_view workload_name, std::string_view builder, kmem::PagingModeId mode_id, bool small) {
    return kmem::with_paging_mode(mode_id, [&]<kmem::PagingMode Mode>(Mode) {
        const Workload workload = make_workload<Mode>(workload_name, small);
        const Result result = builder == "kmem" ? run_kmem<Mode>(workload) : run_naive<Mode>(workload);
        std::string failure = result.failure;
        const std::uint64_t bytes = workload.pages * kmem::kPageSize;
        if (failure.empty() && result.leaf_bytes != bytes)
            failure = "leaves cover " + std::to_string(result.leaf_bytes) + " bytes, not " + std::to_string(bytes);
        // The naive builder's 4 KiB tables are minimal for its own 4 KiB
        // leaves too; anything else would make it a straw man.
        if (failure.empty() && result.table_frames != result.minimum_frames)
            failure = "uses " + std::to_string(result.table_frames) + " table frames, the minimum is " +
                      std::to_string(result.minimum_frames);
        std::printf("workload=%s builder=%.*s mode=%s leaves=%llu mapped_bytes=%llu table_frames=%llu "
                    "minimum_frames=%llu checked_pages=%llu\n",
                    workload.name.c_str(), static_cast<int>(builder.size()), builder.data(),
                    std::string(Mode::kName).c_str(), static_cast<unsigned long long>(result.leaves),
                    static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(result.table_frames),
                    static_cast<unsigned long long>(result.minimum_frames),
                    static_cast<unsigned long long>(result.checked_pages));
        if (!failure.empty()) {
            std::fprintf(stderr, "page_table_bench: %s %.*s %s: %s\n", workload.name.c_str(),
                         static_cast<int>(builder.size()), builder.data(), std::string(Mode::kName).c_str(),
                         failure.c_str());
            return false;
        }
        return true;
    });
}

bool parse_mode(std::string_view text, kmem::PagingModeId& mode) {
    if (text == "sv39") mode = kmem::PagingModeId::Sv39;
    else if (text == "sv48") mode = kmem::PagingModeId::Sv48;
    else if (text == "sv57") mode = kmem::PagingModeId::Sv57;
    else return false;
    return true;
}

int usage() {
    std::fprintf(stderr, "usage: page_table_bench physmap|scattered|kernel kmem|naive sv39|sv48|sv57 [--small]\n"
                         "       page_table_bench --smoke\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "--smoke") {
        bool ok = true;
        for (const char* workload : {"physmap", "scattered", "kernel"})
            for (const char* builder : {"kmem", "naive"})
                for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57})
                    ok = run_one(workload, builder, mode, true) && ok;
        return ok ? 0 : 1;
    }
    if (args.size() < 3 || args.size() > 4) return usage();
    const std::string_view workload = args[0];
    const std::string_view builder = args[1];
    kmem::PagingModeId mode{};
    const bool small = args.size() == 4 && args[3] == "--small";
    if ((workload != "physmap" && workload != "scattered" && workload != "kernel") ||
        (builder != "kmem" && builder != "naive") || !parse_mode(args[2], mode) || (args.size() == 4 && !small))
        return usage();
    return run_one(workload, builder, mode, small) ? 0 : 1;
}
