#pragma once
// PageTable<Mode, Memory>: builds and edits one RISC-V address space.
//
// Modelled on Fuchsia's zircon/kernel/lib/arch paging: the mode is a traits
// type (riscv.hpp), one map() picks the largest page the alignment of va and
// pa and the remaining length allow, frames and physical access come from an
// injected Memory so the same code runs on the loader's real frames, on the
// host and in constant evaluation, and every failure is a value naming the
// address where it happened. The mode is fixed (Sv39, Sv48, Sv57) or a
// RuntimePagingMode, whose level count is a value: one instance then serves
// all three modes where the mode is only known at run time (the loader),
// rather than a copy of the builder per mode.
//
// Invariants between calls: every table other than the root holds at least
// one valid entry (so table_frames() counts exactly the tables the leaves
// need); leaves never overlap; a failed call leaves the table as it found it.
// The caller owns TLB maintenance (sfence.vma) after a change to a live table.
//
// About 800 lines, and one concept: map, unmap, protect, translate and adopt
// share the private recursive walkers, the split-and-undo log and the
// invariants above, which no other code may see. Its error type is in
// page_table_error.hpp and the test memory in array_memory.hpp.
//
// KMEM_TRY is not used here: GCC 12 rejects leaving a statement expression
// by `return` during constant evaluation, and every path must stay constexpr.

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/page_table_error.hpp"
#include "kmem/riscv.hpp"

namespace kmem {

// Where page tables live. allocate_zeroed_frame() returns something that
// tests true and dereferences to the frame's address on success (Expected or
// std::optional); pointer() turns a table's physical address into its 512
// entries (identity, physmap offset, or an array in a simulation).
template <class M>
concept PageTableMemory = requires(M& memory, PhysicalAddress frame) {
    { static_cast<bool>(memory.allocate_zeroed_frame()) };
    { *memory.allocate_zeroed_frame() } -> std::convertible_to<PhysicalAddress>;
    memory.free_frame(frame);
    { memory.pointer(frame) } -> std::same_as<std::uint64_t*>;
};

// What translate() finds for one address.
struct Translation {
    PhysicalAddress pa;  // of the translated address itself, page offset included
    PageFlags flags;     // normalized (see PageFlags::normalized)
    std::uint64_t page_size = 0;
    unsigned level = 0;  // 0 for 4 KiB, 1 for 2 MiB, ...
    Pte pte;
};

// One leaf entry as for_each_leaf() reports it.
struct Leaf {
    VirtualAddress va;
    PhysicalAddress pa;
    std::uint64_t size = 0;
    unsigned level = 0;
    Pte pte;
};

// A run of leaves with contiguous va and pa and equal flags, as walk() reports it.
struct Mapping {
    VirtualAddress va;
    PhysicalAddress pa;
    std::uint64_t size = 0;
    PageFlags flags;
    friend constexpr bool operator==(const Mapping&, const Mapping&) = default;
};

namespace detail {

// Lets a visitor return void (visit everything) or bool (false stops).
template <class F, class Arg>
constexpr bool invoke_continue(F& f, const Arg& arg) {
    if constexpr (std::is_void_v<decltype(f(arg))>) {
        f(arg);
        return true;
    } else {
        return static_cast<bool>(f(arg));
    }
}

}  // namespace detail

template <PagingTraits Mode, PageTableMemory Memory>
class PageTable {
public:
    using mode_type = Mode;
    using memory_type = Memory;

    // An empty handle (no root); only create() gives a usable table.
    constexpr PageTable() = default;
    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;
    constexpr PageTable(PageTable&& other)
        : memory_(other.memory_), root_(other.root_), table_frames_(other.table_frames_), mode_(other.mode_) {
        other.memory_ = nullptr;
        other.table_frames_ = 0;
    }
    constexpr PageTable& operator=(PageTable&& other) {
        memory_ = other.memory_;
        root_ = other.root_;
        table_frames_ = other.table_frames_;
        mode_ = other.mode_;
        other.memory_ = nullptr;
        other.table_frames_ = 0;
        return *this;
    }

    // The table keeps a pointer to `memory`, which must outlive it. Frames
    // are not given back on destruction: a finished table is usually handed
    // to a kernel; release() frees them explicitly. `mode` matters only for
    // RuntimePagingMode (Sv39, Sv48 and Sv57 have a single value).
    static constexpr Expected<PageTable, PageTableError> create(Memory& memory, Mode mode = {}) {
        PageTable table;
        table.memory_ = &memory;
        table.mode_ = mode;
        auto root = table.allocate_table();
        if (!root.ok) {
            return unexpected(PageTableError{.code = PageTableErrorCode::OutOfFrames,
                                             .operation = PageTableOperation::Create,
                                             .mode = mode.id()});
        }
        table.root_ = root.frame;
        return table;
    }

    // A handle on tables that exist already: built by a loader, or by this
    // class and handed over as a root. The other operations rely on what
    // map() guarantees, so every table reachable from `root` is checked
    // first (see TableProblem); the first bad entry is reported with the
    // first address it covers. table_frames() counts the tables found.
    static constexpr Expected<PageTable, PageTableError> adopt(Memory& memory, PhysicalAddress root,
                                                               Mode mode = {}) {
        PageTableError error{.code = PageTableErrorCode::MalformedTable,
                             .operation = PageTableOperation::Adopt,
                             .mode = mode.id(),
                             .request_pa = root};
        if (!root.is_aligned(kPageSize) || root.value() >= kPhysicalAddressLimit) {
            error.problem = TableProblem::RootMisaligned;
            return unexpected(error);
        }
        PageTable table;
        table.memory_ = &memory;
        table.root_ = root;
        table.mode_ = mode;
        if (!table.check_adopted(root, table.top(), 0, error)) return unexpected(error);
        return table;
    }

    constexpr PhysicalAddress root() const { return root_; }
    constexpr std::uint64_t table_frames() const { return table_frames_; }
    constexpr std::uint64_t satp(std::uint16_t asid = 0) const { return mode_.satp(root_, asid); }
    constexpr Mode mode() const { return mode_; }

    // Maps [va, va + size) to [pa, pa + size). At every step the largest page
    // that the alignment of both addresses and the remaining length allow is
    // used, so a suitably aligned range gets superpages in its middle and
    // smaller pages at its edges. An empty range is accepted and changes nothing.
    constexpr Expected<void, PageTableError> map(VirtualAddress va, PhysicalAddress pa, std::uint64_t size,
                                                 PageFlags flags) {
        const auto leaf_flags = LeafFlags::make(flags);
        // One 4 KiB page with good arguments (kernels map pages one by one)
        // takes a single descent instead of a search of the range and then a
        // descent. An aligned page can neither wrap nor cross the end of the
        // lower half, so a canonical va and a pa below the limit are all the
        // range checks it needs. Anything else, a bad argument included,
        // goes to map_range_checked, which checks in the documented order
        // and names the first problem.
        if (size == kPageSize && leaf_flags && ((va.value() | pa.value()) & (kPageSize - 1)) == 0 &&
            mode_.is_canonical(va) && pa.value() < kPhysicalAddressLimit) [[likely]] {
            // Usually every table on the way exists and the entry is free:
            // then it is one store; map_page_at does the rest.
            const Slot slot = lowest_slot(va);
            if (slot.level == 0 && !Pte::from_raw(*slot.entry).valid()) [[likely]] {
                *slot.entry = Pte::leaf(pa, *leaf_flags).raw();
                return {};
            }
            return map_page_at(slot, va, pa, flags, *leaf_flags);
        }
        return map_range_checked(Request{PageTableOperation::Map, va, size, pa, flags}, leaf_flags);
    }

    // Removes every mapping in [va, va + size). A hole anywhere in the range
    // is an error (NotMapped, naming its first address) and nothing changes:
    // unmapping what was never mapped usually means the caller's bookkeeping
    // is wrong. A superpage that straddles an end of the range is split
    // first, which needs frames (OutOfFrames, nothing changes). Tables that
    // become empty are freed.
    constexpr Expected<void, PageTableError> unmap(VirtualAddress va, std::uint64_t size) {
        const Request request{PageTableOperation::Unmap, va, size, {}, {}};
        const auto range = prepare_existing(request);
        if (!range) return unexpected(range.error());
        if (range->nonempty) remove_range(root_, top(), range->first, range->last);
        return {};
    }

    // Gives every page in [va, va + size) the new flags; same rules about
    // holes and splitting as unmap(). Neighbouring pages with now equal
    // flags are not merged back into superpages.
    constexpr Expected<void, PageTableError> protect(VirtualAddress va, std::uint64_t size, PageFlags flags) {
        const Request request{PageTableOperation::Protect, va, size, {}, flags};
        const auto leaf_flags = LeafFlags::make(flags);
        if (!leaf_flags) return unexpected(flags_error(request, leaf_flags.error()));
        const auto range = prepare_existing(request);
        if (!range) return unexpected(range.error());
        if (range->nonempty) set_flags(root_, top(), range->first, range->last, *leaf_flags);
        return {};
    }

    constexpr Expected<Translation, PageTableError> translate(VirtualAddress va) const {
        const Request request{PageTableOperation::Translate, va, 0, {}, {}};
        if (!mode_.is_canonical(va)) return unexpected(fail(request, PageTableErrorCode::NonCanonical, va));
        PhysicalAddress table = root_;
        for (unsigned level = top();; --level) {
            const Pte entry = Pte::from_raw(memory_->pointer(table)[Mode::index(va, level)]);
            if (!entry.valid()) return unexpected(fail(request, PageTableErrorCode::NotMapped, va));
            if (entry.is_leaf()) {
                const std::uint64_t page_size = Mode::page_size(level);
                return Translation{.pa = entry.address() + (va.value() & (page_size - 1)),
                                   .flags = entry.flags(),
                                   .page_size = page_size,
                                   .level = level,
                                   .pte = entry};
            }
            KMEM_ASSERT(level > 0);
            table = entry.address();
        }
    }

    // Calls f(const Leaf&) for every leaf in ascending va order (lower half,
    // then upper half). f may return bool; false stops the walk.
    template <class F>
    constexpr void for_each_leaf(F&& f) const {
        if (visit_leaves(root_, top(), 0, mode_.lower_half_end() - 1, f))
            visit_leaves(root_, top(), mode_.upper_half_begin(), ~std::uint64_t{0}, f);
    }

    // Calls f(const Mapping&) for every maximal run of leaves whose va and pa
    // are contiguous and whose flags are equal, in ascending va order.
    template <class F>
    constexpr void walk(F&& f) const {
        Mapping pending;
        bool have_pending = false;
        bool stopped = false;
        for_each_leaf([&](const Leaf& leaf) {
            const PageFlags flags = leaf.pte.flags();
            if (have_pending && pending.va + pending.size == leaf.va && pending.pa + pending.size == leaf.pa &&
                pending.flags == flags) {
                pending.size += leaf.size;
                return true;
            }
            if (have_pending && !detail::invoke_continue(f, pending)) {
                stopped = true;
                return false;
            }
            pending = Mapping{leaf.va, leaf.pa, leaf.size, flags};
            have_pending = true;
            return true;
        });
        if (have_pending && !stopped) detail::invoke_continue(f, pending);
    }

    // Calls f(PhysicalAddress table, unsigned level) for every table frame,
    // root first, so a loader can report them as page-table memory.
    template <class F>
    constexpr void for_each_table(F&& f) const {
        visit_tables(root_, top(), f);
    }

    // Frees every frame of the table, root included; the handle becomes empty.
    constexpr void release() {
        if (memory_ == nullptr) return;
        free_subtree(root_, top());
        memory_ = nullptr;
        root_ = PhysicalAddress();
    }

private:
    static constexpr std::uint64_t kMax = ~std::uint64_t{0};

    struct Request {
        PageTableOperation operation;
        VirtualAddress va;
        std::uint64_t size;
        PhysicalAddress pa;
        PageFlags flags;
    };

    struct Hit {
        bool found = false;
        std::uint64_t va = 0;
        std::uint64_t pa = 0;
    };

    struct Allocation {
        bool ok = false;
        PhysicalAddress frame;
    };

    // One entry of a table on some address's path, and the table's level.
    struct Slot {
        std::uint64_t* entry;
        unsigned level;
    };

    // One entry's share of a range: [first, last] inside [base, base + size).
    struct Chunk {
        unsigned index;
        std::uint64_t base;
        std::uint64_t first;
        std::uint64_t last;
        bool whole;
    };

    // Undo log for splits, so a split that runs out of frames is taken back:
    // at most one chain of splits per end of the range.
    struct Split {
        PhysicalAddress table;
        unsigned index = 0;
        Pte original;
        PhysicalAddress child;
    };
    struct SplitLog {
        std::array<Split, 2 * Mode::kMaxLevels> entries{};
        std::size_t count = 0;
    };

    struct Prepared {
        bool nonempty = false;
        std::uint64_t first = 0;
        std::uint64_t last = 0;
    };

    // The root's level.
    constexpr unsigned top() const { return mode_.levels() - 1; }

    constexpr PageTableError fail(const Request& request, PageTableErrorCode code, VirtualAddress va,
                                  PhysicalAddress pa = {}) const {
        return PageTableError{.code = code,
                              .operation = request.operation,
                              .mode = mode_.id(),
                              .va = va,
                              .pa = pa,
                              .request_va = request.va,
                              .request_size = request.size,
                              .request_pa = request.pa,
                              .flags = request.flags};
    }

    constexpr PageTableError flags_error(const Request& request, FlagsProblem problem) const {
        const PageTableErrorCode code = problem == FlagsProblem::WriteExecute ? PageTableErrorCode::WriteExecute
                                                                              : PageTableErrorCode::InvalidFlags;
        return fail(request, code, request.va, request.pa);
    }

    // For a non-empty, aligned request: the last address of the range, once
    // it is known not to wrap and to lie within one canonical half.
    constexpr Expected<std::uint64_t, PageTableError> check_virtual_range(const Request& request) const {
        const std::uint64_t first = request.va.value();
        if (first > kMax - (request.size - 1))
            return unexpected(fail(request, PageTableErrorCode::AddressOverflow, request.va, request.pa));
        const std::uint64_t last = first + (request.size - 1);
        if (!mode_.is_canonical(request.va))
            return unexpected(fail(request, PageTableErrorCode::NonCanonical, request.va, request.pa));
        // From a canonical lower-half start, the first address that is not
        // canonical is the end of the lower half.
        if (first < mode_.lower_half_end() && last >= mode_.lower_half_end()) {
            const std::uint64_t inside = mode_.lower_half_end() - first;
            return unexpected(fail(request, PageTableErrorCode::NonCanonical, VirtualAddress(mode_.lower_half_end()),
                                   request.pa + inside));
        }
        return last;
    }

    // Shared by unmap and protect: validate, refuse holes, split the edges.
    constexpr Expected<Prepared, PageTableError> prepare_existing(const Request& request) {
        if (!request.va.is_aligned(kPageSize) || !is_aligned(request.size, kPageSize))
            return unexpected(fail(request, PageTableErrorCode::Misaligned, request.va));
        if (request.size == 0) return Prepared{};
        const std::uint64_t first = request.va.value();
        const auto range = check_virtual_range(request);
        if (!range) return unexpected(range.error());
        const std::uint64_t last = *range;
        if (const Hit hole = find_unmapped(root_, top(), first, last); hole.found)
            return unexpected(fail(request, PageTableErrorCode::NotMapped, VirtualAddress(hole.va)));
        SplitLog log;
        if (!split_at(first, log)) {
            undo(log);
            return unexpected(fail(request, PageTableErrorCode::OutOfFrames, request.va));
        }
        // last + 1 is either the top of the space (wrapped to 0) or the end
        // of the lower half, where no leaf can straddle, or a canonical address.
        if (last != kMax && mode_.is_canonical(VirtualAddress(last + 1)) && !split_at(last + 1, log)) {
            undo(log);
            return unexpected(fail(request, PageTableErrorCode::OutOfFrames, VirtualAddress(last + 1)));
        }
        return Prepared{true, first, last};
    }

    constexpr Allocation allocate_table() {
        auto frame = memory_->allocate_zeroed_frame();
        if (!frame) return {};
        const PhysicalAddress address = *frame;
        // A frame that no PTE can point to is a broken Memory, not bad input.
        KMEM_ASSERT(address.is_aligned(kPageSize) && address.value() < kPhysicalAddressLimit);
        ++table_frames_;
        return {true, address};
    }

    constexpr void free_table(PhysicalAddress table) {
        KMEM_ASSERT(table_frames_ > 0);
        --table_frames_;
        memory_->free_frame(table);
    }

    constexpr std::uint64_t* entries(PhysicalAddress table) const { return memory_->pointer(table); }

    constexpr bool is_empty(PhysicalAddress table) const {
        const std::uint64_t* slots = entries(table);
        for (unsigned i = 0; i < Mode::kEntries; ++i)
            if (Pte::from_raw(slots[i]).valid()) return false;
        return true;
    }

    // Calls f(const Chunk&) for every entry of a level-`level` table that
    // [first, last] touches; both ends lie in that table's span.
    template <class F>
    static constexpr bool for_each_chunk(unsigned level, std::uint64_t first, std::uint64_t last, F&& f) {
        const std::uint64_t size = Mode::page_size(level);
        std::uint64_t base = align_down(first, size);
        for (;;) {
            const std::uint64_t entry_last = base + (size - 1);
            const std::uint64_t chunk_first = base < first ? first : base;
            const std::uint64_t chunk_last = entry_last < last ? entry_last : last;
            const Chunk chunk{Mode::index(VirtualAddress(base), level), base, chunk_first, chunk_last,
                              chunk_first == base && chunk_last == entry_last};
            if (!f(chunk)) return false;
            if (chunk_last == last) return true;
            base += size;
        }
    }

    // The first mapped address in [first, last] (and what it maps to), for
    // map(). A loop rather than a recursive walk, as map_range: along a
    // table while its entries are empty, down where one points to a table,
    // and from the root again where the search leaves a table.
    constexpr Hit find_mapped(std::uint64_t first, std::uint64_t last) const {
        std::uint64_t va = first;
        PhysicalAddress table = root_;
        unsigned level = top();
        for (;;) {
            const std::uint64_t* slots = entries(table);
            const std::uint64_t size = Mode::page_size(level);
            unsigned i = Mode::index(VirtualAddress(va), level);
            const Pte entry = Pte::from_raw(slots[i]);
            if (entry.is_leaf()) return {true, va, entry.address().value() + (va & (size - 1))};
            if (entry.is_table()) {
                table = entry.address();
                --level;
                continue;
            }
            // The next valid entry of this table that the range reaches; at
            // the top of the space `next` wraps to 0, past any `last`.
            std::uint64_t next = align_down(va, size);
            do {
                next += size;
                if (next - 1 >= last) return {};
            } while (++i < Mode::kEntries && !Pte::from_raw(slots[i]).valid());
            va = next;
            if (i == Mode::kEntries) {
                table = root_;
                level = top();
            }
        }
    }

    constexpr Hit find_unmapped(PhysicalAddress table, unsigned level, std::uint64_t first,
                                std::uint64_t last) const {
        Hit hit;
        const std::uint64_t* slots = entries(table);
        for_each_chunk(level, first, last, [&](const Chunk& chunk) {
            const Pte entry = Pte::from_raw(slots[chunk.index]);
            if (!entry.valid()) {
                hit = {true, chunk.first, 0};
            } else if (entry.is_table()) {
                hit = find_unmapped(entry.address(), level - 1, chunk.first, chunk.last);
            }
            return !hit.found;
        });
        return hit;
    }

    // map() of anything but one good 4 KiB page: every argument check in
    // order, then a search of the whole range and a descent that maps it.
    constexpr Expected<void, PageTableError> map_range_checked(const Request& request,
                                                               const Expected<LeafFlags, FlagsProblem>& leaf_flags) {
        const VirtualAddress va = request.va;
        const PhysicalAddress pa = request.pa;
        const std::uint64_t size = request.size;
        if (!leaf_flags) return unexpected(flags_error(request, leaf_flags.error()));
        // The low 12 bits of all three at once.
        if (((va.value() | pa.value() | size) & (kPageSize - 1)) != 0)
            return unexpected(fail(request, PageTableErrorCode::Misaligned, va, pa));
        if (size == 0) return {};
        const auto range = check_virtual_range(request);
        if (!range) return unexpected(range.error());
        const std::uint64_t last = *range;
        if (pa.value() > ~std::uint64_t{0} - (size - 1))
            return unexpected(fail(request, PageTableErrorCode::AddressOverflow, va, pa));
        if (pa.value() + (size - 1) >= kPhysicalAddressLimit) {
            const std::uint64_t inside = pa.value() < kPhysicalAddressLimit ? kPhysicalAddressLimit - pa.value() : 0;
            return unexpected(fail(request, PageTableErrorCode::PhysicalOutOfRange, va + inside, pa + inside));
        }
        // Checking the whole range first is what makes a failure easy to undo:
        // afterwards every leaf inside it was made by this call.
        if (const Hit hit = find_mapped(va.value(), last); hit.found)
            return unexpected(fail(request, PageTableErrorCode::AlreadyMapped, VirtualAddress(hit.va),
                                   PhysicalAddress(hit.pa)));
        const std::uint64_t offset = pa.value() - va.value();  // modulo 2^64, as the hardware adds
        if (const Hit failure = map_range(va.value(), last, offset, *leaf_flags); failure.found) {
            remove_range(root_, top(), va.value(), last);
            return unexpected(fail(request, PageTableErrorCode::OutOfFrames, VirtualAddress(failure.va),
                                   PhysicalAddress(failure.va + offset)));
        }
        return {};
    }

    // va's entry in the lowest table on its path that exists: at level 0
    // when they all do, else the first entry on the way down that does not
    // point to a further table. One load and test a level.
    constexpr Slot lowest_slot(VirtualAddress va) const {
        PhysicalAddress table = root_;
        for (unsigned level = top();; --level) {
            std::uint64_t* entry = entries(table) + Mode::index(va, level);
            if (level == 0 || !Pte::from_raw(*entry).is_table()) return {entry, level};
            table = Pte::from_raw(*entry).address();
        }
    }

    // The rest of map() for one checked 4 KiB page whose entry (lowest_slot)
    // is taken or has tables missing above it. Nothing needs undoing on a
    // conflict: everything below a table this call creates is empty, so a
    // conflict can only show up before the first one. `flags` is only for
    // an error's message.
    constexpr Expected<void, PageTableError> map_page_at(Slot slot, VirtualAddress va, PhysicalAddress pa,
                                                         PageFlags flags, LeafFlags leaf_flags) {
        // Valid, it is a leaf (a superpage above level 0) that covers va.
        if (const Pte entry = Pte::from_raw(*slot.entry); entry.valid()) {
            const std::uint64_t in_page = va.value() & (Mode::page_size(slot.level) - 1);
            return unexpected(fail(Request{PageTableOperation::Map, va, kPageSize, pa, flags},
                                   PageTableErrorCode::AlreadyMapped, va, entry.address() + in_page));
        }
        std::uint64_t* entry = slot.entry;
        if (slot.level > 0) {
            entry = add_tables(entry, slot.level, va);
            if (entry == nullptr)
                return unexpected(fail(Request{PageTableOperation::Map, va, kPageSize, pa, flags},
                                       PageTableErrorCode::OutOfFrames, va, pa));
        }
        *entry = Pte::leaf(pa, leaf_flags).raw();
        return {};
    }

    // map_page_at() below an empty entry `*slot` of a level-`level` table: a new
    // table for every level down to 0, each empty but for the next one, so
    // nothing there can conflict. Returns va's slot in the new level-0 table,
    // or nullptr when a frame is refused, after freeing the new tables and
    // clearing `*slot` again.
    constexpr std::uint64_t* add_tables(std::uint64_t* slot, unsigned level, VirtualAddress va) {
        std::uint64_t* const top_slot = slot;
        for (unsigned below = level; below > 0; --below) {
            const Allocation allocation = allocate_table();
            if (!allocation.ok) {
                if (below != level) {
                    free_subtree(Pte::from_raw(*top_slot).address(), level - 1);
                    *top_slot = 0;
                }
                return nullptr;
            }
            *slot = Pte::table(allocation.frame).raw();
            slot = entries(allocation.frame) + Mode::index(va, below - 1);
        }
        return slot;
    }

    // Maps [first, last], where find_mapped found nothing, with
    // pa = va + offset; returns the first address whose table could not be
    // allocated, if any. A loop where a recursive walk took a call and a
    // frame per table and entry (most of a map() call's cost in the loader):
    // from the root down to the highest level whose page va and its pa are
    // aligned to and the rest of the range holds, allocating the tables on
    // the way, then a row of such leaves to the end of that table or of the
    // range. A row never passes a place for a larger page: that would be
    // the start of the next table.
    constexpr Hit map_range(std::uint64_t first, std::uint64_t last, std::uint64_t offset, LeafFlags flags) {
        std::uint64_t va = first;
        for (;;) {
            unsigned level = top();
            // Looked up once per table: a table's entries stay where they are
            // while frames are allocated for its children, as every descent
            // here (map_page_at's too) assumes.
            std::uint64_t* slots = entries(root_);
            for (;;) {
                const std::uint64_t mask = Mode::page_size(level) - 1;
                if (level <= mode_.max_leaf_level() && ((va | (va + offset)) & mask) == 0 && last - va >= mask) break;
                KMEM_ASSERT(level > 0);
                std::uint64_t& slot = slots[Mode::index(VirtualAddress(va), level)];
                if (!Pte::from_raw(slot).valid()) {
                    const Allocation allocation = allocate_table();
                    if (!allocation.ok) return {true, va, 0};
                    slot = Pte::table(allocation.frame).raw();
                }
                KMEM_ASSERT(Pte::from_raw(slot).is_table());
                slots = entries(Pte::from_raw(slot).address());
                --level;
            }
            const std::uint64_t size = Mode::page_size(level);
            // Consecutive leaves differ in their PPN alone; the range's end
            // was checked against the physical limit, so it cannot overflow.
            std::uint64_t leaf = Pte::leaf(PhysicalAddress(va + offset), flags, level).raw();
            const std::uint64_t step = (size >> 12) << pte_bits::kPpnShift;
            for (unsigned i = Mode::index(VirtualAddress(va), level);; leaf += step) {
                KMEM_ASSERT(!Pte::from_raw(slots[i]).valid());
                slots[i] = leaf;
                if (last - va == size - 1) return {};
                va += size;
                if (++i == Mode::kEntries || last - va < size - 1) break;
            }
        }
    }

    // Clears every leaf inside [first, last] and frees the tables that end up
    // empty. Leaves must not straddle the ends (split_at ensures it).
    constexpr void remove_range(PhysicalAddress table, unsigned level, std::uint64_t first, std::uint64_t last) {
        for_each_chunk(level, first, last, [&](const Chunk& chunk) {
            std::uint64_t* slots = entries(table);
            const Pte entry = Pte::from_raw(slots[chunk.index]);
            if (!entry.valid()) return true;
            if (entry.is_leaf()) {
                KMEM_ASSERT(chunk.whole);
                slots[chunk.index] = 0;
                return true;
            }
            if (chunk.whole) {
                free_subtree(entry.address(), level - 1);
            } else {
                remove_range(entry.address(), level - 1, chunk.first, chunk.last);
                if (!is_empty(entry.address())) return true;
                free_table(entry.address());
            }
            entries(table)[chunk.index] = 0;
            return true;
        });
    }

    constexpr void free_subtree(PhysicalAddress table, unsigned level) {
        if (level > 0) {
            const std::uint64_t* slots = entries(table);
            for (unsigned i = 0; i < Mode::kEntries; ++i) {
                const Pte entry = Pte::from_raw(slots[i]);
                if (entry.is_table()) free_subtree(entry.address(), level - 1);
            }
        }
        free_table(table);
    }

    constexpr void set_flags(PhysicalAddress table, unsigned level, std::uint64_t first, std::uint64_t last,
                             LeafFlags flags) {
        for_each_chunk(level, first, last, [&](const Chunk& chunk) {
            std::uint64_t* slots = entries(table);
            const Pte entry = Pte::from_raw(slots[chunk.index]);
            KMEM_ASSERT(entry.valid());
            if (entry.is_leaf()) {
                KMEM_ASSERT(chunk.whole);
                slots[chunk.index] =
                    Pte::leaf(entry.address(), flags, level).with_software_bits(entry.software_bits()).raw();
            } else {
                set_flags(entry.address(), level - 1, chunk.first, chunk.last, flags);
            }
            return true;
        });
    }

    // Splits the leaf that straddles `boundary`, if any, until `boundary`
    // starts a leaf. Each split keeps the translation of every address: the
    // new table's leaves repeat the old leaf's bits with consecutive PPNs.
    constexpr bool split_at(std::uint64_t boundary, SplitLog& log) {
        PhysicalAddress table = root_;
        for (unsigned level = top();; --level) {
            std::uint64_t* slots = entries(table);
            const unsigned index = Mode::index(VirtualAddress(boundary), level);
            const Pte entry = Pte::from_raw(slots[index]);
            if (!entry.valid()) return true;
            if (entry.is_leaf()) {
                if (is_aligned(boundary, Mode::page_size(level))) return true;
                KMEM_ASSERT(level > 0);
                const Allocation allocation = allocate_table();
                if (!allocation.ok) return false;
                std::uint64_t* child = entries(allocation.frame);
                const std::uint64_t step = Mode::page_size(level - 1) >> 12;
                const std::uint64_t kept = entry.raw() & ~pte_bits::kPpnMask;
                for (unsigned i = 0; i < Mode::kEntries; ++i)
                    child[i] = kept | ((entry.ppn() + i * step) << pte_bits::kPpnShift);
                KMEM_ASSERT(log.count < log.entries.size());
                log.entries[log.count++] = Split{table, index, entry, allocation.frame};
                slots[index] = Pte::table(allocation.frame).raw();
                table = allocation.frame;
                continue;
            }
            KMEM_ASSERT(level > 0);
            table = entry.address();
        }
    }

    constexpr void undo(SplitLog& log) {
        while (log.count > 0) {
            const Split& split = log.entries[--log.count];
            entries(split.table)[split.index] = split.original.raw();
            free_table(split.child);
        }
    }

    template <class F>
    constexpr bool visit_leaves(PhysicalAddress table, unsigned level, std::uint64_t first, std::uint64_t last,
                                F& f) const {
        const std::uint64_t* slots = entries(table);
        return for_each_chunk(level, first, last, [&](const Chunk& chunk) {
            const Pte entry = Pte::from_raw(slots[chunk.index]);
            if (entry.is_leaf()) {
                return detail::invoke_continue(
                    f, Leaf{VirtualAddress(chunk.base), entry.address(), Mode::page_size(level), level, entry});
            }
            if (entry.is_table()) return visit_leaves(entry.address(), level - 1, chunk.first, chunk.last, f);
            return true;
        });
    }

    static constexpr TableProblem entry_problem(Pte entry, unsigned level) {
        const std::uint64_t raw = entry.raw();
        if ((raw & pte_bits::kReservedMask) != 0 || entry.pbmt() == 3) return TableProblem::ReservedBits;
        if (entry.napot()) return TableProblem::Napot;
        if (entry.is_table()) {
            if (level == 0) return TableProblem::PointerAtLevel0;
            if ((raw & (pte_bits::kAccessed | pte_bits::kDirty | pte_bits::kUser | pte_bits::kPbmtMask)) != 0)
                return TableProblem::PointerWithLeafBits;
            return TableProblem::None;
        }
        if (entry.writable() && !entry.readable()) return TableProblem::WriteWithoutRead;
        if (!entry.address().is_aligned(Mode::page_size(level))) return TableProblem::MisalignedSuperpage;
        return TableProblem::None;
    }

    // adopt(): checks the table at `table` (covering from `base`) and the
    // ones below it, counting them.
    constexpr bool check_adopted(PhysicalAddress table, unsigned level, std::uint64_t base, PageTableError& error) {
        ++table_frames_;
        const std::uint64_t* slots = entries(table);
        for (unsigned i = 0; i < Mode::kEntries; ++i) {
            const Pte entry = Pte::from_raw(slots[i]);
            if (!entry.valid()) continue;
            std::uint64_t va = base + (std::uint64_t{i} << Mode::page_shift(level));
            if (level == top() && va >= mode_.lower_half_end()) va |= mode_.upper_half_begin();
            if (const TableProblem problem = entry_problem(entry, level); problem != TableProblem::None) {
                error.problem = problem;
                error.va = VirtualAddress(va);
                error.pa = table;
                error.level = level;
                return false;
            }
            if (entry.is_table() && !check_adopted(entry.address(), level - 1, va, error)) return false;
        }
        return true;
    }

    template <class F>
    constexpr void visit_tables(PhysicalAddress table, unsigned level, F& f) const {
        f(table, level);
        if (level == 0) return;
        const std::uint64_t* slots = entries(table);
        for (unsigned i = 0; i < Mode::kEntries; ++i) {
            const Pte entry = Pte::from_raw(slots[i]);
            if (entry.is_table()) visit_tables(entry.address(), level - 1, f);
        }
    }

    Memory* memory_ = nullptr;
    PhysicalAddress root_;
    std::uint64_t table_frames_ = 0;
    [[no_unique_address]] Mode mode_{};
};

// Calls f(table) with the tables at `root` adopted (PageTable::adopt) as a
// PageTable<Mode, Memory> of the mode `mode` names, for code that learns the
// mode at run time (a kernel from BootInfo, a tool from a plan); adopt()'s
// error when the tables are malformed.
template <PageTableMemory Memory, class F>
constexpr Expected<void, PageTableError> with_adopted_table(PagingModeId mode, Memory& memory, PhysicalAddress root,
                                                            F&& f) {
    return with_paging_mode(mode, [&]<PagingMode M>(M) -> Expected<void, PageTableError> {
        auto table = PageTable<M, Memory>::adopt(memory, root);
        if (!table) return unexpected(table.error());
        f(*table);
        return {};
    });
}

// The fewest table frames that can hold `leaves` (anything iterable whose
// elements have `va` and `level`, e.g. Leaf), sorted by ascending va and not
// overlapping: the root plus every distinct table on some leaf's path.
template <PagingMode Mode, class Leaves>
constexpr std::uint64_t minimum_table_frames(const Leaves& leaves) {
    bool first_leaf = true;
    std::uint64_t previous_va = 0;
    for (const auto& leaf : leaves) {
        KMEM_ASSERT(leaf.level <= Mode::kMaxLeafLevel);
        KMEM_ASSERT(first_leaf || leaf.va.value() > previous_va);  // the documented precondition
        first_leaf = false;
        previous_va = leaf.va.value();
    }
    std::uint64_t frames = 1;
    // A table at `level` sits on the path of every leaf at `level` or below
    // and covers one entry of the level above; in va order, the leaves that
    // share it are consecutive, so counting changes counts tables.
    for (unsigned level = 0; level + 1 < Mode::kLevels; ++level) {
        const unsigned shift = Mode::page_shift(level + 1);
        bool any = false;
        std::uint64_t previous = 0;
        for (const auto& leaf : leaves) {
            if (leaf.level > level) continue;
            const std::uint64_t table = leaf.va.value() >> shift;
            if (!any || table != previous) ++frames;
            any = true;
            previous = table;
        }
    }
    return frames;
}

}  // namespace kmem
