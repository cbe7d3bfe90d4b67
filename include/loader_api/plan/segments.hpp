#pragma once
// The kernel image in physical memory: PT_LOAD segments grouped into
// clusters (segments that share a page share frames), each cluster mapped
// in place from the file or copied, relocated with the slide, and cut into
// pieces of one set of page permissions (RELRO and shared pages split them).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "loader_api/plan/common.hpp"
#include "loader_api/plan/physical_io.hpp"

namespace loader_api {

namespace plan_detail {

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

    constexpr const Cluster* cluster_of(std::uint64_t link_va) const {
        for (std::size_t i = 0; i < cluster_count; ++i)
            if (link_va >= clusters[i].page_begin && link_va < clusters[i].page_end) return &clusters[i];
        return nullptr;
    }
    constexpr Cluster* cluster_of(std::uint64_t link_va) {
        return const_cast<Cluster*>(std::as_const(*this).cluster_of(link_va));
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

// Out of line, as pass_on(): the PlanError is built in place.
[[gnu::noinline, gnu::cold]] inline Result<void> relocation_failed(const ElfError& cause) {
    return kmem::unexpected(PlanError(PlanErrorCode::Relocation, {}, cause));
}

// Places the kernel (plan.kaslr_slide chosen): fills `image`, records its
// frames and writes the copies into `memory`.
template <PhysicalMemory P>
Result<void> load_kernel(BasicPlan& plan, P& memory, const Inputs& in, KernelImage& image) {
    const LoaderConfig& config = plan.config;
    const bool allow_wx = config.allow_write_execute != 0;
    for (const Segment segment : in.elf.load_segments()) {
        if (segment.memsz == 0) continue;
        if (image.segment_count == image.segments.size())
            return capacity_exceeded("kernel PT_LOAD segments", kPlanMaxKernelSegments);
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
    // Two passes over the relocations with one callback, so that the
    // relocation loop is instantiated once (issue 13: one per lambda was
    // 3.5 KB each). The first pass only marks the clusters relocations write
    // into: a relocation target must be in a copy (writable segments are
    // copied anyway). The second writes the values with the chosen slide.
    bool writing = false;
    auto visit = [&](const Relocation& relocation) {
        Cluster* cluster = image.cluster_of(relocation.target.value());
        if (!writing) {
            ++plan.stats.relocations;
            if (cluster != nullptr) cluster->copy = true;
            return;
        }
        KMEM_ASSERT(cluster != nullptr && cluster->copy);
        std::byte value[8];
        for (unsigned i = 0; i < 8; ++i) value[i] = static_cast<std::byte>(relocation.value >> (8 * i));
        write_physical(memory, cluster->frames + (relocation.target.value() - cluster->page_begin), value);
    };
    if (auto marked = in.elf.for_each_relocation(0, visit); !marked) return relocation_failed(marked.error());
    for (std::size_t c = 0; c < image.cluster_count; ++c) {
        Cluster& cluster = image.clusters[c];
        const Segment& segment = image.segments[cluster.first].segment;
        const std::uint64_t file_address = in.kernel_file.begin().value() + segment.file_offset;
        const bool in_place = !cluster.copy && !segment.writable() && segment.file_bytes.size() == segment.memsz &&
                              file_address % k4K == segment.vaddr.value() % k4K;
        if (in_place) {
            cluster.frames = PhysicalAddress(kmem::align_down(file_address, k4K));
            if (auto recorded = record(plan, {cluster.frames, cluster.frames + (cluster.page_end - cluster.page_begin)},
                                       MemoryRegionKind::Kernel, AllocationOrigin::Input, "kernel segment (in place)",
                                       segment.index);
                !recorded)
                return pass_on(recorded.error());
            plan.stats.in_place_kernel_bytes += cluster.page_end - cluster.page_begin;
            continue;
        }
        cluster.copy = true;
        const auto allocated = allocate(plan, cluster.page_end - cluster.page_begin, k4K, MemoryRegionKind::Kernel,
                                        "kernel segment (copy)", segment.index);
        if (!allocated) return pass_on(allocated.error());
        const PhysicalRange frames = *allocated;
        cluster.frames = frames.begin();
        plan.stats.copied_kernel_bytes += frames.size();
        // Each byte is written once: the file's bytes, and zeros only where
        // no segment's file bytes go (page heads and tails, .bss, gaps).
        std::uint64_t written = cluster.page_begin;  // linked address the copy is complete up to
        auto zero_up_to = [&](std::uint64_t link_end) {
            if (link_end <= written) return;
            zero_physical(memory, {cluster.frames + (written - cluster.page_begin),
                                    cluster.frames + (link_end - cluster.page_begin)});
            written = link_end;
        };
        for (std::size_t i = cluster.first; i <= cluster.last; ++i) {
            const Segment& s = image.segments[i].segment;
            zero_up_to(s.vaddr.value());
            write_physical(memory, cluster.frames + (s.vaddr.value() - cluster.page_begin), s.file_bytes);
            if (s.vaddr.value() + s.file_bytes.size() > written) written = s.vaddr.value() + s.file_bytes.size();
        }
        zero_up_to(cluster.page_end);
    }
    // Relocations, written into the copies with the chosen slide.
    writing = true;
    if (auto written = in.elf.for_each_relocation(plan.kaslr_slide, visit); !written)
        return relocation_failed(written.error());
    // Pieces: each run of pages with one set of permissions. RELRO pages lose
    // W (glibc's rule: both ends rounded down to a page).
    const RelroSegment relro = in.elf.relro();
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
                    return fail(PlanErrorCode::SharedPageWriteExecute, {}, LinkedAddress{VirtualAddress(low)});
                warn(plan, WarningCode::SharedPagePermissions, low);
            }
            flags.allow_write_execute = flags.write && flags.execute;
            KernelPiece* last = image.piece_count > 0 ? &image.pieces[image.piece_count - 1] : nullptr;
            if (last != nullptr && last->link_end == low && last->flags == flags && last->copied == cluster.copy &&
                last->frames + (last->link_end - last->link_begin) == cluster.frames + (low - cluster.page_begin)) {
                last->link_end = high;
                continue;
            }
            if (image.piece_count == image.pieces.size())
                return capacity_exceeded("kernel pieces", kPlanMaxKernelPieces);
            image.pieces[image.piece_count++] = {low, high, cluster.frames + (low - cluster.page_begin), flags,
                                                 cluster.copy, segment_index};
        }
    }
    return {};
}

// Reads the kernel's bytes at a linked address as the kernel will see them:
// from the relocated copy when its cluster was copied, else from the file.
template <PhysicalMemory P>
void read_kernel(P& memory, const ElfFile& elf, const KernelImage& image, std::uint64_t link_va,
                 std::span<std::byte> out) {
    const Cluster* cluster = image.cluster_of(link_va);
    if (cluster != nullptr && cluster->copy) {
        read_physical(memory, cluster->frames + (link_va - cluster->page_begin), out);
        return;
    }
    const auto offset = elf.file_offset_of(link_va, out.size(), "PT_TLS");
    if (offset) {
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = elf.bytes()[*offset + i];
    } else {
        for (auto& byte : out) byte = std::byte{0};
    }
}

}  // namespace plan_detail

}  // namespace loader_api
