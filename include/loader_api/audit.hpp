#pragma once
// A kernel's check of its own address space against what the protocol
// promises, as a template over the page table so that it runs on the live
// tables (a kernel adopts them with kmem::PageTable::adopt, as the test
// kernel does) as well as on tables built in simulated memory (the host
// tests feed it every plan, and broken tables).
//
// What the protocol promises (docs/protocol.md, "Virtual memory at entry"):
// only the physmap, the kernel segments, the stacks and TLS blocks (of started
// harts and of harts that failed after planning) are mapped
// in the higher half; the lower half holds at most the loader's identity map
// inside LoaderReclaimable regions; no U pages; W^X; A and D set and G clear
// on every leaf (kernel image, physmap, stacks, TLS alike, whatever the
// permissions); every RAM region in the physmap; each kernel
// segment with its ELF permissions; an unmapped guard page below each stack.
//
// Freestanding: no allocation, no exceptions; failures are values.

#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/page_table.hpp"
#include "loader_api/boot_info.hpp"

namespace loader_api {

// The kernel's three link-time groups (the test kernel's kernel.ld names
// them), at their run-time addresses: what the ELF file says each page may
// do, independently of what BootInfo says the loader did. Empty groups are
// not checked (a host test that has only BootInfo passes them empty).
struct AuditKernelImage {
    VirtRange whole;
    VirtRange text;    // R X
    VirtRange rodata;  // R
    VirtRange data;    // R W
};

struct AuditFailure {
    std::string_view what;
    std::uint64_t va = 0;
    std::uint64_t pa = 0;     // what va maps to, when it matters
    std::uint64_t other = 0;  // see what
    kmem::PageFlags flags{};

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, what, ": va ", kmem::hex(va), " pa ", kmem::hex(pa), " flags ", flags, " (",
                    kmem::hex(other), ')');
    }
};

struct AuditStats {
    std::uint64_t leaves = 0;
    std::uint64_t mapped_bytes = 0;
};

namespace audit_detail {

constexpr bool inside(std::uint64_t begin, std::uint64_t size, VirtRange range) {
    return begin >= range.begin && size <= range.end - begin && begin < range.end;
}
constexpr bool same_permissions(kmem::PageFlags flags, bool read, bool write, bool execute) {
    return flags.read == read && flags.write == write && flags.execute == execute;
}

// Every page of [begin, end) mapped with exactly R/W/X as given; `expected_pa`
// (when non-zero offset semantics apply) is checked through `pa_of(va)`.
template <class Table, class PaOf>
kmem::Expected<void, AuditFailure> expect_mapped(const Table& table, std::string_view what, VirtRange range,
                                                 bool read, bool write, bool execute, PaOf&& pa_of) {
    std::uint64_t va = range.begin;
    while (va < range.end) {
        auto translation = table.translate(kmem::VirtualAddress(va));
        if (!translation) return kmem::unexpected(AuditFailure{what, va, 0, range.end});
        const kmem::PageFlags flags = translation->flags;
        if (!same_permissions(flags, read, write, execute))
            return kmem::unexpected(AuditFailure{what, va, translation->pa.value(), range.end, flags});
        const std::uint64_t wanted = pa_of(va);
        if (wanted != ~std::uint64_t{0} && translation->pa.value() != wanted)
            return kmem::unexpected(AuditFailure{what, va, translation->pa.value(), wanted, flags});
        // On to the next page of whatever size holds va.
        const std::uint64_t next = (va | (translation->page_size - 1)) + 1;
        if (next <= va) break;  // wrapped at the top of the address space
        va = next;
    }
    return {};
}

inline constexpr auto kAnyPa = [](std::uint64_t) { return ~std::uint64_t{0}; };

}  // namespace audit_detail

template <class Table>
kmem::Expected<AuditStats, AuditFailure> audit_address_space(const BootInfo& info, const Table& table,
                                                             const AuditKernelImage& image) {
    using Mode = typename Table::mode_type;
    using audit_detail::inside;
    AuditStats stats;
    AuditFailure failure{};
    bool failed = false;

    // 1. Every leaf: its bits, and that it belongs to something the protocol maps.
    table.for_each_leaf([&](const kmem::Leaf& leaf) {
        const kmem::Pte pte = leaf.pte;
        const std::uint64_t va = leaf.va.value(), pa = leaf.pa.value(), size = leaf.size;
        const kmem::PageFlags flags = pte.flags();
        const auto fail = [&](std::string_view what, std::uint64_t other = 0) {
            failure = AuditFailure{what, va, pa, other, flags};
            failed = true;
            return false;
        };
        ++stats.leaves;
        stats.mapped_bytes += size;
        if (pte.user()) return fail("user page");
        // Kernel pages are held to their segment's flags below (W+X only
        // when the kernel's config allowed it); nothing else may be W+X.
        if (flags.write && flags.execute && !inside(va, size, info.kernel_virtual))
            return fail("writable and executable page");
        if (!pte.accessed() || !pte.dirty()) return fail("A or D bit clear", pte.raw() & 0xff);
        if (pte.global()) return fail("global page (G = 1)", pte.raw() & 0xff);

        if (inside(va, size, info.physmap)) {
            if (pa != va - info.physmap_offset) return fail("physmap entry maps the wrong frame", va - info.physmap_offset);
            if (!audit_detail::same_permissions(flags, true, true, false)) return fail("physmap entry not RW-");
            return true;
        }
        if (inside(va, size, info.kernel_virtual)) {
            for (const KernelSegment& segment : info.segments()) {
                if (!inside(va, size, segment.virt)) continue;
                const std::uint64_t wanted = segment.physical_begin + (va - segment.virt.begin);
                if (pa != wanted) return fail("kernel page maps the wrong frame", wanted);
                if (!audit_detail::same_permissions(flags, segment.flags & kSegmentRead, segment.flags & kSegmentWrite,
                                                    segment.flags & kSegmentExecute))
                    return fail("kernel page permissions differ from its segment's flags", segment.flags);
                return true;
            }
            return fail("kernel range page outside every segment");
        }
        for (const HartInfo& hart : info.hart_table()) {
            if (!hart.owns_stack()) continue;
            if (inside(va, size, hart.stack) || inside(va, size, hart.tls)) {
                if (!audit_detail::same_permissions(flags, true, true, false)) return fail("stack or TLS page not RW-", hart.hart_id);
                return true;
            }
        }
        if (va + (size - 1) < Mode::kLowerHalfEnd) {
            if (pa != va) return fail("lower-half mapping that is not an identity map");
            // A loader that keeps its own identity map (PlanOptions::
            // identity_map_loader; the reference loader does not) maps only
            // its image: LoaderReclaimable, or Reserved where the device
            // tree reserves memory the image was loaded into.
            for (const MemoryRegion& region : info.regions())
                if ((region.kind == MemoryRegionKind::LoaderReclaimable ||
                     region.kind == MemoryRegionKind::Reserved) &&
                    pa >= region.range.begin && size <= region.range.end - pa)
                    return true;
            return fail("lower-half identity map outside LoaderReclaimable");
        }
        return fail("mapping of nothing the protocol maps");
    });
    if (failed) return kmem::unexpected(failure);

    // 2. What must be mapped is: RAM through the physmap, the kernel as its
    // ELF file says, the stacks; and the guard pages are not.
    // From the first UsableUnmapped region on, RAM is beyond the physmap (1.1).
    for (const MemoryRegion& region : info.regions()) {
        if (region.kind == MemoryRegionKind::UsableUnmapped) break;
        const VirtRange virt{region.range.begin + info.physmap_offset, region.range.end + info.physmap_offset};
        auto mapped = audit_detail::expect_mapped(table, "RAM region missing from the physmap or not RW-", virt, true, true, false,
                                                  [&](std::uint64_t va) { return va - info.physmap_offset; });
        if (!mapped) return kmem::unexpected(mapped.error());
    }
    const struct {
        std::string_view what;
        VirtRange range;
        bool read, write, execute;
    } groups[] = {
        {"kernel text not mapped R-X", image.text, true, false, true},
        {"kernel rodata not mapped R--", image.rodata, true, false, false},
        {"kernel data not mapped RW-", image.data, true, true, false},
    };
    for (const auto& group : groups) {
        auto mapped = audit_detail::expect_mapped(table, group.what, group.range, group.read, group.write, group.execute,
                                                  audit_detail::kAnyPa);
        if (!mapped) return kmem::unexpected(mapped.error());
    }
    for (const KernelSegment& segment : info.segments()) {
        auto mapped = audit_detail::expect_mapped(
            table, "kernel segment not mapped as its flags say", segment.virt, segment.flags & kSegmentRead,
            segment.flags & kSegmentWrite, segment.flags & kSegmentExecute,
            [&](std::uint64_t va) { return segment.physical_begin + (va - segment.virt.begin); });
        if (!mapped) return kmem::unexpected(mapped.error());
    }
    for (const HartInfo& hart : info.hart_table()) {
        if (!hart.owns_stack()) continue;
        auto mapped = audit_detail::expect_mapped(table, "stack not mapped RW-", hart.stack, true, true, false, audit_detail::kAnyPa);
        if (!mapped) return kmem::unexpected(mapped.error());
        const std::uint64_t guard = hart.stack.begin - kmem::kPageSize;
        if (auto translation = table.translate(kmem::VirtualAddress(guard)))
            return kmem::unexpected(
                AuditFailure{"guard page below a stack is mapped", guard, translation->pa.value(), hart.hart_id, translation->flags});
    }
    return stats;
}

}  // namespace loader_api
