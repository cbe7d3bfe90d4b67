#pragma once
// RISC-V paging: the Sv39 / Sv48 / Sv57 traits, page table entries and satp
// values (privileged spec, "Supervisor-Level ISA", sections on satp, Sv39,
// Sv48, Sv57, Svpbmt and Svnapot).
//
// Levels are numbered as in the spec's walk: level 0 holds 4 KiB leaves, the
// root is level kLevels - 1. Every level may hold leaves (superpages).

#include <concepts>
#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"

namespace kmem {

// ---------------------------------------------------------------------------
// Paging modes

enum class PagingModeId : std::uint8_t { Sv39, Sv48, Sv57 };

constexpr std::string_view name(PagingModeId mode) {
    switch (mode) {
        case PagingModeId::Sv39: return "Sv39";
        case PagingModeId::Sv48: return "Sv48";
        case PagingModeId::Sv57: return "Sv57";
    }
    return "Sv?";
}

// Physical addresses are 56 bits wide in all three modes (PPN is 44 bits).
inline constexpr unsigned kPhysicalAddressBits = 56;
inline constexpr std::uint64_t kPhysicalAddressLimit = std::uint64_t{1} << kPhysicalAddressBits;

namespace detail {

// What every mode shares, the fixed ones and RuntimePagingMode alike: 4 KiB
// pages, 512 entries a table (so shift 12 + 9 * level), and satp's layout.
struct PageGeometry {
    static constexpr unsigned kPageShift = 12;
    static constexpr unsigned kIndexBits = 9;
    static constexpr unsigned kEntries = 1u << kIndexBits;

    // `levels` bounds `level`: a fixed mode's own count, or the most any
    // mode has where the mode is known only at run time.
    static constexpr unsigned shift_at(unsigned level, unsigned levels) {
        KMEM_ASSERT(level < levels);
        return kPageShift + kIndexBits * level;
    }
    static constexpr unsigned index_at(VirtualAddress va, unsigned shift) {
        return static_cast<unsigned>((va.value() >> shift) & (kEntries - 1));
    }
    // satp: MODE in 63..60, ASID in 59..44, root PPN in 43..0. A root PPN
    // wider than 44 bits cannot come from a physical address, so it is a
    // caller bug rather than input to report.
    static constexpr std::uint64_t encode_satp(std::uint64_t mode, std::uint64_t root_ppn, std::uint16_t asid) {
        KMEM_ASSERT(root_ppn < (std::uint64_t{1} << 44));
        return (mode << 60) | (std::uint64_t{asid} << 44) | root_ppn;
    }
    static constexpr std::uint64_t root_ppn(PhysicalAddress root) {
        KMEM_ASSERT(root.is_aligned(std::uint64_t{1} << kPageShift));
        return root.value() >> kPageShift;
    }
};

// The three modes differ only in their number of levels; everything else
// follows from it, so one template spells the rules once.
template <PagingModeId Id, unsigned Levels, std::uint64_t SatpMode>
struct SvMode : PageGeometry {
    static constexpr PagingModeId kId = Id;
    static constexpr std::string_view kName = kmem::name(Id);
    static constexpr unsigned kLevels = Levels;
    static constexpr unsigned kVaBits = kPageShift + kIndexBits * kLevels;
    static constexpr unsigned kMaxLeafLevel = kLevels - 1;
    static constexpr std::uint64_t kSatpMode = SatpMode;
    // First address past the lower half / first address of the upper half.
    static constexpr std::uint64_t kLowerHalfEnd = kmem::lower_half_end(kVaBits);
    static constexpr std::uint64_t kUpperHalfBegin = kmem::upper_half_begin(kVaBits);
    // PageTable's storage bound, as RuntimePagingMode has one.
    static constexpr unsigned kMaxLevels = kLevels;

    // The PagingTraits interface (see RuntimePagingMode): the constants above
    // as functions, so one PageTable body reads a fixed mode and a run-time one.
    static constexpr PagingModeId id() { return kId; }
    static constexpr unsigned levels() { return kLevels; }
    static constexpr unsigned va_bits() { return kVaBits; }
    static constexpr unsigned max_leaf_level() { return kMaxLeafLevel; }
    static constexpr std::uint64_t lower_half_end() { return kLowerHalfEnd; }
    static constexpr std::uint64_t upper_half_begin() { return kUpperHalfBegin; }

    static constexpr unsigned index_bits(unsigned level) {
        KMEM_ASSERT(level < kLevels);
        return kIndexBits;
    }
    static constexpr unsigned page_shift(unsigned level) { return shift_at(level, kLevels); }
    // The size one entry at `level` covers: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB.
    static constexpr std::uint64_t page_size(unsigned level) { return std::uint64_t{1} << page_shift(level); }
    static constexpr unsigned index(VirtualAddress va, unsigned level) { return index_at(va, page_shift(level)); }
    static constexpr bool is_canonical(VirtualAddress va) { return kmem::is_canonical(va, kVaBits); }

    static constexpr std::uint64_t satp(std::uint64_t root_ppn, std::uint16_t asid = 0) {
        return encode_satp(kSatpMode, root_ppn, asid);
    }
    static constexpr std::uint64_t satp(PhysicalAddress root, std::uint16_t asid = 0) {
        return satp(root_ppn(root), asid);
    }
};

}  // namespace detail

struct Sv39 : detail::SvMode<PagingModeId::Sv39, 3, 8> {};
struct Sv48 : detail::SvMode<PagingModeId::Sv48, 4, 9> {};
struct Sv57 : detail::SvMode<PagingModeId::Sv57, 5, 10> {};

template <class M>
concept PagingMode = requires(VirtualAddress va, unsigned level, std::uint64_t ppn, std::uint16_t asid) {
    { M::kId } -> std::convertible_to<PagingModeId>;
    { M::kName } -> std::convertible_to<std::string_view>;
    { M::kLevels } -> std::convertible_to<unsigned>;
    { M::kVaBits } -> std::convertible_to<unsigned>;
    { M::kEntries } -> std::convertible_to<unsigned>;
    { M::kMaxLeafLevel } -> std::convertible_to<unsigned>;
    { M::kSatpMode } -> std::convertible_to<std::uint64_t>;
    { M::page_size(level) } -> std::same_as<std::uint64_t>;
    { M::page_shift(level) } -> std::same_as<unsigned>;
    { M::index(va, level) } -> std::same_as<unsigned>;
    { M::is_canonical(va) } -> std::same_as<bool>;
    { M::satp(ppn, asid) } -> std::same_as<std::uint64_t>;
} && (M::kLevels >= 1) && (M::kMaxLeafLevel < M::kLevels) && (M::kVaBits < 64);

static_assert(PagingMode<Sv39> && PagingMode<Sv48> && PagingMode<Sv57>);
static_assert(Sv39::kVaBits == 39 && Sv48::kVaBits == 48 && Sv57::kVaBits == 57);
static_assert(Sv39::page_size(0) == 4096 && Sv39::page_size(1) == 2 * 1024 * 1024 &&
              Sv39::page_size(2) == std::uint64_t{1} << 30);
static_assert(Sv48::page_size(3) == std::uint64_t{512} << 30 && Sv57::page_size(4) == std::uint64_t{256} << 40);
// satp MODE encodings: Bare 0, Sv39 8, Sv48 9, Sv57 10.
static_assert(Sv39::satp(0x80200, 0) == 0x8000'0000'0008'0200);
static_assert(Sv48::satp(0x80200, 1) == 0x9000'1000'0008'0200);
static_assert(Sv57::satp(0xfff'ffff'ffff, 0xffff) == 0xafff'ffff'ffff'ffff);
static_assert(Sv39::index(VirtualAddress(0xffff'ffc0'0000'0000), 2) == 256);

// The mode as a value: Sv39, Sv48 or Sv57 with the level count read at run
// time. Why: a loader learns the mode from the satp probe, and a PageTable
// over a fixed mode is a copy of the whole builder per mode (about 8.6 KiB of
// RISC-V code each); PageTable<RuntimePagingMode, M> is one copy for all
// three, its per-level arithmetic (shift 12 + 9 * level) being the same in
// every mode anyway. The three modes are numbered in PagingModeId so that
// levels, VA width and satp MODE follow from the id by one add each.
class RuntimePagingMode : public detail::PageGeometry {
public:
    static constexpr unsigned kMaxLevels = 5;

    constexpr RuntimePagingMode() = default;  // Sv39, as with_paging_mode's fallback
    explicit constexpr RuntimePagingMode(PagingModeId id) : id_(id) {
        KMEM_ASSERT(id == PagingModeId::Sv39 || id == PagingModeId::Sv48 || id == PagingModeId::Sv57);
    }

    constexpr PagingModeId id() const { return id_; }
    constexpr unsigned levels() const { return 3 + static_cast<unsigned>(id_); }
    constexpr unsigned va_bits() const { return kPageShift + kIndexBits * levels(); }
    constexpr unsigned max_leaf_level() const { return levels() - 1; }
    constexpr std::uint64_t lower_half_end() const { return kmem::lower_half_end(va_bits()); }
    constexpr std::uint64_t upper_half_begin() const { return kmem::upper_half_begin(va_bits()); }
    constexpr std::uint64_t satp_mode() const { return 8 + static_cast<unsigned>(id_); }

    // The same in every mode, so static as in the fixed modes; they can only
    // refuse a level that no mode has.
    static constexpr unsigned page_shift(unsigned level) { return shift_at(level, kMaxLevels); }
    static constexpr std::uint64_t page_size(unsigned level) { return std::uint64_t{1} << page_shift(level); }
    static constexpr unsigned index(VirtualAddress va, unsigned level) { return index_at(va, page_shift(level)); }
    constexpr bool is_canonical(VirtualAddress va) const { return kmem::is_canonical(va, va_bits()); }
    constexpr std::uint64_t satp(std::uint64_t root_ppn, std::uint16_t asid = 0) const {
        return encode_satp(satp_mode(), root_ppn, asid);
    }
    constexpr std::uint64_t satp(PhysicalAddress root, std::uint16_t asid = 0) const {
        return satp(root_ppn(root), asid);
    }

private:
    PagingModeId id_ = PagingModeId::Sv39;
};

// What PageTable needs of its mode: a fixed one (Sv39, Sv48, Sv57, whose
// functions are static) or RuntimePagingMode. kMaxLevels bounds storage that
// is sized per table type.
template <class M>
concept PagingTraits = std::semiregular<M> && requires(const M mode, VirtualAddress va, PhysicalAddress root,
                                                       unsigned level, std::uint16_t asid) {
    { M::kMaxLevels } -> std::convertible_to<unsigned>;
    { M::kEntries } -> std::convertible_to<unsigned>;
    { mode.id() } -> std::same_as<PagingModeId>;
    { mode.levels() } -> std::same_as<unsigned>;
    { mode.va_bits() } -> std::same_as<unsigned>;
    { mode.max_leaf_level() } -> std::same_as<unsigned>;
    { mode.lower_half_end() } -> std::same_as<std::uint64_t>;
    { mode.upper_half_begin() } -> std::same_as<std::uint64_t>;
    { M::page_size(level) } -> std::same_as<std::uint64_t>;
    { M::page_shift(level) } -> std::same_as<unsigned>;
    { M::index(va, level) } -> std::same_as<unsigned>;
    { mode.is_canonical(va) } -> std::same_as<bool>;
    { mode.satp(root, asid) } -> std::same_as<std::uint64_t>;
};

static_assert(PagingTraits<Sv39> && PagingTraits<Sv48> && PagingTraits<Sv57> && PagingTraits<RuntimePagingMode>);

namespace detail {
// The run-time mode agrees with the fixed ones it stands for.
template <PagingMode M>
constexpr bool runtime_mode_agrees() {
    const RuntimePagingMode mode(M::kId);
    return mode.levels() == M::kLevels && mode.va_bits() == M::kVaBits && mode.max_leaf_level() == M::kMaxLeafLevel &&
           mode.lower_half_end() == M::kLowerHalfEnd && mode.upper_half_begin() == M::kUpperHalfBegin &&
           mode.satp_mode() == M::kSatpMode && M::kLevels <= RuntimePagingMode::kMaxLevels &&
           M::kEntries == RuntimePagingMode::kEntries && mode.satp(0x80200, 7) == M::satp(0x80200, 7);
}
}  // namespace detail
static_assert(detail::runtime_mode_agrees<Sv39>() && detail::runtime_mode_agrees<Sv48>() &&
              detail::runtime_mode_agrees<Sv57>());

// Runs `f(Mode{})` with the traits type that `mode` names, so one template can
// serve a mode chosen at run time (e.g. after probing satp).
template <class F>
constexpr decltype(auto) with_paging_mode(PagingModeId mode, F&& f) {
    switch (mode) {
        case PagingModeId::Sv48: return f(Sv48{});
        case PagingModeId::Sv57: return f(Sv57{});
        case PagingModeId::Sv39: break;
    }
    KMEM_ASSERT(mode == PagingModeId::Sv39);
    return f(Sv39{});
}

constexpr std::uint64_t satp_mode(PagingModeId mode) {
    return with_paging_mode(mode, []<PagingMode M>(M) { return M::kSatpMode; });
}

struct UnknownSatpMode {
    std::uint64_t mode = 0;
    template <CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "satp: MODE ", mode, " is not Sv39 (8), Sv48 (9) or Sv57 (10)");
    }
};

// For the probe that writes satp and reads back what the hart kept.
constexpr Expected<PagingModeId, UnknownSatpMode> paging_mode_from_satp(std::uint64_t satp) {
    switch (satp >> 60) {
        case 8: return PagingModeId::Sv39;
        case 9: return PagingModeId::Sv48;
        case 10: return PagingModeId::Sv57;
        default: return unexpected(UnknownSatpMode{satp >> 60});
    }
}

// ---------------------------------------------------------------------------
// Mapping permissions

// Svpbmt memory types (PBMT field). Pma, the default, is what a hart without
// Svpbmt requires: the field must then be zero.
enum class MemoryType : std::uint8_t { Pma = 0, NonCacheable = 1, Io = 2 };

struct PageFlags {
    bool read = false;
    bool write = false;
    bool execute = false;
    bool user = false;
    bool global = false;
    // W^X is the default; a writable and executable mapping must say so.
    bool allow_write_execute = false;
    MemoryType memory_type = MemoryType::Pma;

    friend constexpr bool operator==(const PageFlags&, const PageFlags&) = default;

    // What a page table entry can tell back: allow_write_execute is not stored
    // in the entry, so decoded flags set it exactly when the page is W+X.
    constexpr PageFlags normalized() const {
        PageFlags result = *this;
        result.allow_write_execute = write && execute;
        return result;
    }

    static constexpr PageFlags read_only() { return {.read = true}; }
    static constexpr PageFlags read_write() { return {.read = true, .write = true}; }
    static constexpr PageFlags read_execute() { return {.read = true, .execute = true}; }
    static constexpr PageFlags execute_only() { return {.execute = true}; }

    // "rw-ug", then " nc" / " io" for a non-default memory type.
    template <CharSink S>
    constexpr void format(S& sink) const {
        sink.put(read ? 'r' : '-');
        sink.put(write ? 'w' : '-');
        sink.put(execute ? 'x' : '-');
        sink.put(user ? 'u' : '-');
        sink.put(global ? 'g' : '-');
        if (memory_type == MemoryType::NonCacheable) kmem::write(sink, " nc");
        if (memory_type == MemoryType::Io) kmem::write(sink, " io");
        if (memory_type != MemoryType::Pma && memory_type != MemoryType::NonCacheable &&
            memory_type != MemoryType::Io)
            kmem::print(sink, " pbmt?");
    }
};

enum class FlagsProblem : std::uint8_t {
    None,
    NoAccess,            // R=W=X=0 would encode a pointer to a table, not a leaf
    WriteWithoutRead,    // R=0, W=1 is reserved
    WriteExecute,        // W+X without allow_write_execute
    ReservedMemoryType,  // PBMT 3 is reserved
};

constexpr FlagsProblem check_flags(PageFlags flags) {
    if (!flags.read && !flags.write && !flags.execute) return FlagsProblem::NoAccess;
    if (flags.write && !flags.read) return FlagsProblem::WriteWithoutRead;
    if (flags.write && flags.execute && !flags.allow_write_execute) return FlagsProblem::WriteExecute;
    if (flags.memory_type != MemoryType::Pma && flags.memory_type != MemoryType::NonCacheable &&
        flags.memory_type != MemoryType::Io)
        return FlagsProblem::ReservedMemoryType;
    return FlagsProblem::None;
}

constexpr std::string_view describe(FlagsProblem problem) {
    switch (problem) {
        case FlagsProblem::None: return "valid";
        case FlagsProblem::NoAccess: return "no access bit set (R=W=X=0 encodes a table pointer)";
        case FlagsProblem::WriteWithoutRead: return "writable but not readable (R=0 W=1 is reserved)";
        case FlagsProblem::WriteExecute: return "writable and executable without allow_write_execute";
        case FlagsProblem::ReservedMemoryType: return "reserved memory type (PBMT 3)";
    }
    return "?";
}

// ---------------------------------------------------------------------------
// Page table entries

namespace pte_bits {
inline constexpr std::uint64_t kValid = std::uint64_t{1} << 0;
inline constexpr std::uint64_t kRead = std::uint64_t{1} << 1;
inline constexpr std::uint64_t kWrite = std::uint64_t{1} << 2;
inline constexpr std::uint64_t kExecute = std::uint64_t{1} << 3;
inline constexpr std::uint64_t kUser = std::uint64_t{1} << 4;
inline constexpr std::uint64_t kGlobal = std::uint64_t{1} << 5;
inline constexpr std::uint64_t kAccessed = std::uint64_t{1} << 6;
inline constexpr std::uint64_t kDirty = std::uint64_t{1} << 7;
inline constexpr unsigned kRswShift = 8;
inline constexpr std::uint64_t kRswMask = std::uint64_t{3} << kRswShift;
inline constexpr unsigned kPpnShift = 10;
inline constexpr std::uint64_t kPpnMask = ((std::uint64_t{1} << 44) - 1) << kPpnShift;
inline constexpr std::uint64_t kReservedMask = ((std::uint64_t{1} << 7) - 1) << 54;
inline constexpr unsigned kPbmtShift = 61;
inline constexpr std::uint64_t kPbmtMask = std::uint64_t{3} << kPbmtShift;
inline constexpr std::uint64_t kNapot = std::uint64_t{1} << 63;
inline constexpr std::uint64_t kPermissionMask = kRead | kWrite | kExecute;
}  // namespace pte_bits

// Every field owns its bits exactly once, and together they fill the word.
static_assert((pte_bits::kValid | pte_bits::kRead | pte_bits::kWrite | pte_bits::kExecute | pte_bits::kUser |
               pte_bits::kGlobal | pte_bits::kAccessed | pte_bits::kDirty | pte_bits::kRswMask |
               pte_bits::kPpnMask | pte_bits::kReservedMask | pte_bits::kPbmtMask | pte_bits::kNapot) ==
              ~std::uint64_t{0});
static_assert(pte_bits::kPpnMask == 0x003f'ffff'ffff'fc00 && pte_bits::kPbmtMask == 0x6000'0000'0000'0000);

// PageFlags that passed check_flags, encoded as the bits a leaf holds
// besides its PPN (A and D included). A table builder makes one per request
// and writes each leaf with Pte::leaf(pa, LeafFlags), one OR, rather than
// checking and encoding the same flags again for every leaf.
class LeafFlags {
public:
    static constexpr Expected<LeafFlags, FlagsProblem> make(PageFlags flags) {
        if (const FlagsProblem problem = check_flags(flags); problem != FlagsProblem::None) return unexpected(problem);
        LeafFlags checked;
        checked.bits_ = pte_bits::kValid | pte_bits::kAccessed | pte_bits::kDirty |
                        (flags.read ? pte_bits::kRead : 0) | (flags.write ? pte_bits::kWrite : 0) |
                        (flags.execute ? pte_bits::kExecute : 0) | (flags.user ? pte_bits::kUser : 0) |
                        (flags.global ? pte_bits::kGlobal : 0) |
                        (static_cast<std::uint64_t>(flags.memory_type) << pte_bits::kPbmtShift);
        return checked;
    }

    constexpr std::uint64_t bits() const { return bits_; }

private:
    // Expected holds a default value next to its error; any LeafFlags a
    // caller can read comes from make().
    template <class, class>
    friend class Expected;
    constexpr LeafFlags() = default;

    std::uint64_t bits_ = 0;
};

// One 64-bit entry. The two factories are the only way to build a valid
// entry, and they carry the spec's rules: a pointer to a table has V alone
// (A, D, U, PBMT and N are reserved there), a leaf always has A and D (so no
// hart has to fault or write back to set them, whatever its Svade/Svadu
// behaviour, and a later `protect` to writable needs no D update; D on a page
// that cannot be written is never acted on) and never the reserved R=0 W=1
// combination.
class Pte {
public:
    constexpr Pte() = default;
    static constexpr Pte from_raw(std::uint64_t raw) {
        Pte pte;
        pte.raw_ = raw;
        return pte;
    }

    static constexpr Pte table(PhysicalAddress next) {
        KMEM_ASSERT(next.is_aligned(kPageSize) && next.value() < kPhysicalAddressLimit);
        return from_raw(((next.value() >> 12) << pte_bits::kPpnShift) | pte_bits::kValid);
    }

    // `level` is the level the entry sits at: a superpage's physical address
    // must be aligned to its size, or the hart raises a page fault.
    static constexpr Pte leaf(PhysicalAddress pa, PageFlags flags, unsigned level = 0) {
        const auto checked = LeafFlags::make(flags);
        KMEM_ASSERT(checked.has_value());
        return leaf(pa, *checked, level);
    }
    // The same with flags checked and encoded beforehand: one OR per leaf.
    static constexpr Pte leaf(PhysicalAddress pa, LeafFlags flags, unsigned level = 0) {
        KMEM_ASSERT(level < 5 && pa.is_aligned(kPageSize << (9 * level)) && pa.value() < kPhysicalAddressLimit);
        return from_raw(((pa.value() >> 12) << pte_bits::kPpnShift) | flags.bits());
    }

    // RSW is for supervisor software; the hardware ignores it.
    constexpr Pte with_software_bits(unsigned bits) const {
        KMEM_ASSERT(bits < 4);
        return from_raw((raw_ & ~pte_bits::kRswMask) | (std::uint64_t{bits} << pte_bits::kRswShift));
    }

    constexpr std::uint64_t raw() const { return raw_; }
    constexpr bool valid() const { return (raw_ & pte_bits::kValid) != 0; }
    constexpr bool is_leaf() const { return valid() && (raw_ & pte_bits::kPermissionMask) != 0; }
    // V and no R, W or X: one masked compare, as walks test it at every level.
    constexpr bool is_table() const {
        return (raw_ & (pte_bits::kValid | pte_bits::kPermissionMask)) == pte_bits::kValid;
    }
    constexpr bool readable() const { return (raw_ & pte_bits::kRead) != 0; }
    constexpr bool writable() const { return (raw_ & pte_bits::kWrite) != 0; }
    constexpr bool executable() const { return (raw_ & pte_bits::kExecute) != 0; }
    constexpr bool user() const { return (raw_ & pte_bits::kUser) != 0; }
    constexpr bool global() const { return (raw_ & pte_bits::kGlobal) != 0; }
    constexpr bool accessed() const { return (raw_ & pte_bits::kAccessed) != 0; }
    constexpr bool dirty() const { return (raw_ & pte_bits::kDirty) != 0; }
    constexpr bool napot() const { return (raw_ & pte_bits::kNapot) != 0; }
    constexpr unsigned software_bits() const {
        return static_cast<unsigned>((raw_ & pte_bits::kRswMask) >> pte_bits::kRswShift);
    }
    constexpr unsigned pbmt() const { return static_cast<unsigned>((raw_ & pte_bits::kPbmtMask) >> pte_bits::kPbmtShift); }
    constexpr std::uint64_t ppn() const { return (raw_ & pte_bits::kPpnMask) >> pte_bits::kPpnShift; }
    constexpr PhysicalAddress address() const { return PhysicalAddress(ppn() << 12); }

    constexpr PageFlags flags() const {
        return PageFlags{
            .read = readable(),
            .write = writable(),
            .execute = executable(),
            .user = user(),
            .global = global(),
            .allow_write_execute = writable() && executable(),
            .memory_type = static_cast<MemoryType>(pbmt()),
        };
    }

    friend constexpr bool operator==(Pte, Pte) = default;

private:
    std::uint64_t raw_ = 0;
};

// Encodings checked against the bit positions of the privileged spec
// (V0 R1 W2 X3 U4 G5 A6 D7, RSW 9..8, PPN 53..10, PBMT 62..61, N 63).
static_assert(Pte::table(PhysicalAddress(0x8020'1000)).raw() == 0x2008'0401);
static_assert(Pte::leaf(PhysicalAddress(0x8020'0000), PageFlags::read_write()).raw() == 0x2008'00c7);
static_assert(Pte::leaf(PhysicalAddress(0x8020'0000), PageFlags::read_execute()).raw() == 0x2008'00cb);
static_assert(Pte::leaf(PhysicalAddress(0x4000'0000), {.read = true, .user = true, .global = true}, 2).raw() ==
              0x1000'00f3);
static_assert(Pte::leaf(PhysicalAddress(0x1000'0000), {.read = true, .write = true, .memory_type = MemoryType::Io})
                  .raw() == 0x4000'0000'0400'00c7);
static_assert(Pte::leaf(PhysicalAddress(0xff'ffff'ffff'f000), PageFlags::read_only()).raw() == 0x003f'ffff'ffff'fcc3);
static_assert(Pte::from_raw(0x8000'0000'0000'0000).napot() && Pte::from_raw(0x300).software_bits() == 3);
static_assert(Pte::table(PhysicalAddress(0x1000)).is_table() && !Pte::table(PhysicalAddress(0x1000)).is_leaf());
static_assert(Pte::leaf(PhysicalAddress(0x1000), PageFlags::read_write()).flags() == PageFlags::read_write());
// Flags checked and encoded once give the same leaves; bad flags give no LeafFlags.
static_assert(Pte::leaf(PhysicalAddress(0x4000'0000), *LeafFlags::make({.read = true, .global = true}), 2) ==
              Pte::leaf(PhysicalAddress(0x4000'0000), {.read = true, .global = true}, 2));
static_assert(LeafFlags::make({.write = true}).error() == FlagsProblem::WriteWithoutRead);

}  // namespace kmem
