#pragma once
// What the loader needs from the device tree, gathered in one walk by six
// matchers (memory, reservations, harts, /chosen, the test device, the
// console UART). Capacities are fixed; running out is an error naming the
// limit, never a silent cut. Strings and byte values are views into the blob.
//
// About 650 lines, kept whole on purpose: MachineInfo and the matchers that
// fill it are one contract (each matcher writes its own part, and the order
// of the walk's events is what makes the fields consistent); the UART
// matcher, the decoders and the walk live in their own headers.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/bounded_list.hpp"
#include "kmem/fixed_list.hpp"
#include "kmem/lazy_array.hpp"
#include "kmem/format.hpp"
#include "kmem/range.hpp"
#include "loader_api/fdt/decode.hpp"
#include "loader_api/fdt/reader.hpp"
#include "loader_api/fdt/stdout_uart.hpp"

namespace loader_api::fdt {

inline constexpr std::size_t kMaxMemoryRanges = 128;        // reg entries over all memory nodes
inline constexpr std::size_t kMaxReservedRanges = 128;      // /memreserve/ + static /reserved-memory entries
inline constexpr std::size_t kMaxDynamicReservations = 32;  // /reserved-memory children with size only
inline constexpr std::size_t kMaxHarts = 1024;              // cpu nodes under /cpus, any status

using kmem::FixedList;

struct MemoryRange {
    kmem::PhysicalRange range{};
    std::string_view node{};  // e.g. "memory@80000000"
};

// kFirmware*: not from the tree but from the firmware's own memory map (the
// loader's EFI door adds what UEFI keeps from the OS); `node` then names the
// firmware's memory type. Runtime services code and data are told apart
// because the kernel maps them to call the firmware later.
enum class ReservationSource : std::uint8_t {
    kMemReserve,
    kReservedMemory,
    kFirmwareMemoryMap,
    kFirmwareRuntimeCode,
    kFirmwareRuntimeData,
};
constexpr bool from_firmware_map(ReservationSource source) {
    return source == ReservationSource::kFirmwareMemoryMap || source == ReservationSource::kFirmwareRuntimeCode ||
           source == ReservationSource::kFirmwareRuntimeData;
}

struct ReservedRange {
    kmem::PhysicalRange range{};
    ReservationSource source = ReservationSource::kMemReserve;
    bool no_map = false;      // /reserved-memory child with no-map: not even to be mapped
    std::string_view node{};  // /reserved-memory child name; empty for /memreserve/
};

// A /reserved-memory child without reg: the OS is asked to carve `size` bytes
// somewhere (within alloc_ranges when given). The loader itself places
// nothing there, but the kernel must hear of it.
struct DynamicReservation {
    std::string_view node{};
    std::uint64_t size = 0;
    std::uint64_t alignment = 0;  // 0 when absent
    bool no_map = false;
    RegList alloc_ranges{};       // empty when absent
};

struct Hart {
    std::uint64_t hart_id = 0;  // first reg address under /cpus' #address-cells
    Status status = Status::kOkay;
    bool has_mmu_type = false;
    std::string_view mmu_type{};       // e.g. "riscv,sv48"; empty when absent
    std::string_view isa{};            // riscv,isa; empty when absent
    StringList isa_extensions{};       // riscv,isa-extensions; empty when absent
    std::uint64_t timebase_frequency = 0;  // the cpu's own, else /cpus'; 0 when neither
    std::uint32_t phandle = 0;         // 0 when absent
    std::string_view node{};           // e.g. "cpu@0"

    constexpr bool enabled() const { return status == Status::kOkay; }

    // A multi-letter extension (lower case, e.g. "zkr"), named either in
    // riscv,isa-extensions or after an underscore of riscv,isa.
    constexpr bool has_extension(std::string_view name) const {
        for (std::string_view listed : isa_extensions)
            if (listed == name) return true;
        std::size_t begin = 0;
        for (std::size_t i = 0; i <= isa.size(); ++i) {
            if (i < isa.size() && isa[i] != '_') continue;
            if (begin > 0 && std::string_view(isa.data() + begin, i - begin) == name) return true;
            begin = i + 1;
        }
        return false;
    }
};

struct Chosen {
    bool has_bootargs = false;
    std::string_view bootargs{};
    Bytes rng_seed{};               // empty when absent
    std::string_view stdout_path{}; // empty when absent
    bool has_initrd = false;
    kmem::PhysicalRange initrd{};   // [linux,initrd-start, linux,initrd-end)
    // The hart U-Boot (and the RISC-V EFI stub convention) says it started
    // the next stage on; the loader's a0 should agree.
    bool has_boot_hartid = false;
    std::uint64_t boot_hartid = 0;
};

// MachineInfo's contents with the hart list in storage its owner gives:
// what the readers fill and the planner reads. MachineInfo below owns room
// for kMaxHarts; the reference loader gives room for the harts its tree has.
struct BasicMachineInfo {
    // User-provided, so that value-initialisation does not zero every list
    // first.
    constexpr BasicMachineInfo() {}
    BasicMachineInfo(const BasicMachineInfo&) = delete;
    constexpr BasicMachineInfo& operator=(const BasicMachineInfo&) = default;

    std::uint32_t fdt_size = 0;         // header totalsize: the bytes to keep for the kernel
    std::uint32_t boot_cpuid_phys = 0;  // header field; OpenSBI passes the boot hart in a0 instead
    FixedList<MemoryRange, kMaxMemoryRanges> memory{};
    FixedList<ReservedRange, kMaxReservedRanges> reserved{};
    FixedList<DynamicReservation, kMaxDynamicReservations> dynamic_reservations{};
    kmem::BoundedList<Hart> harts{};
    std::uint64_t timebase_frequency = 0;  // /cpus/timebase-frequency; 0 when absent
    Chosen chosen{};
    bool has_test_device = false;
    kmem::PhysicalAddress test_device{};  // first reg address of the sifive,test0/1 node
    StdoutUart stdout_uart{};             // what /chosen/stdout-path names, when the loader can drive it

    constexpr const Hart* find_hart(std::uint64_t hart_id) const {
        for (const Hart& hart : harts)
            if (hart.hart_id == hart_id) return &hart;
        return nullptr;
    }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const;
};

// A BasicMachineInfo with room for kMaxHarts harts (about 110 KiB).
struct MachineInfo : BasicMachineInfo {
    constexpr MachineInfo() { harts.assign_storage(hart_storage_.data(), kMaxHarts); }
    constexpr MachineInfo(const MachineInfo& other) : MachineInfo() { *this = other; }
    constexpr MachineInfo& operator=(const MachineInfo& other) {
        BasicMachineInfo::operator=(other);
        return *this;
    }

private:
    kmem::LazyArray<Hart, kMaxHarts> hart_storage_;
};

namespace detail {

constexpr kmem::Unexpected<Error> limit_error(Limit limit, std::size_t capacity, std::uint32_t offset) {
    return kmem::unexpected(
        Error{.code = ErrorCode::kLimitExceeded, .offset = offset, .detail = capacity, .limit = limit});
}

constexpr kmem::Unexpected<Error> missing(std::string_view property, std::uint32_t offset) {
    return kmem::unexpected(Error{.code = ErrorCode::kMissingProperty, .offset = offset, .property = property});
}

// Entry `index` of a reg as a physical range, with the error placed at the property.
constexpr Result<kmem::PhysicalRange> reg_range(const RegList& list, std::size_t index, const Property& prop) {
    auto range = list[index].range();
    if (!range) {
        Error error = range.error();
        error.offset = prop.offset;
        error.property = prop.name;
        return kmem::unexpected(error);
    }
    return *range;
}

// A value decoded in the cells of the parent's #size-cells (reserved-memory
// size and alignment).
constexpr Result<std::uint64_t> size_cells_value(const Property& prop, CellCounts cells) {
    if (cells.size > 2) return bad_property(ErrorCode::kBadCellCount, prop, cells.address, cells.size);
    if (prop.value.size() != 4 * cells.size) return bad_property(ErrorCode::kBadPropertySize, prop, prop.value.size());
    return read_cells(prop.value, 0, cells.size);
}

struct Optional {
    bool present = false;
    Property prop{};
    constexpr void set(const Property& p) {
        present = true;
        prop = p;
    }
};

class MemoryMatcher {
public:
    constexpr explicit MemoryMatcher(BasicMachineInfo& info) : info_(info) {}

    // Memory nodes sit under the root, as Linux looks for them.
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (cursor.depth() == 0) return Interest::kSubnodes;
        // Field by field: the Property in `reg` is read only when present.
        state_.is_memory = false;
        state_.status = Status::kOkay;
        state_.reg.present = false;
        return Interest::kProperties;
    }
    Result<void> property(const Cursor&, const Property& prop) {
        if (prop.is("device_type")) {
            state_.is_memory = KMEM_TRY(as_string(prop)) == "memory";
        } else if (prop.is("status")) {
            state_.status = KMEM_TRY(as_status(prop));
        } else if (prop.is("reg")) {
            state_.reg.set(prop);
        }
        return {};
    }
    constexpr Result<void> end_properties(const Cursor& cursor) {
        // A disabled memory node describes no usable RAM. Most top-level
        // nodes are not memory: the test inline, the work out of line.
        if (!state_.is_memory || state_.status != Status::kOkay) return {};
        return add_memory(cursor);
    }
    [[gnu::noinline]] constexpr Result<void> add_memory(const Cursor& cursor) {
        if (!state_.reg.present) return missing("reg", cursor.offset());
        const RegList reg = KMEM_TRY(as_reg(state_.reg.prop, cursor.parent_cells()));
        for (std::size_t i = 0; i < reg.size(); ++i) {
            const kmem::PhysicalRange range = KMEM_TRY(reg_range(reg, i, state_.reg.prop));
            if (!info_.memory.push({range, cursor.name()}))
                return limit_error(Limit::kMemoryRanges, kMaxMemoryRanges, state_.reg.prop.offset);
        }
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

private:
    struct State {
        bool is_memory = false;
        Status status = Status::kOkay;
        Optional reg{};
    };
    BasicMachineInfo& info_;
    State state_{};
};

class ReservedMemoryMatcher {
public:
    constexpr explicit ReservedMemoryMatcher(BasicMachineInfo& info) : info_(info) {}

    // The children of /reserved-memory.
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (cursor.depth() <= 1) return cursor.top_level("reserved-memory", Interest::kSubnodes);
        state_ = {};
        return Interest::kProperties;
    }
    Result<void> property(const Cursor&, const Property& prop) {
        if (prop.is("reg")) state_.reg.set(prop);
        else if (prop.is("size")) state_.size.set(prop);
        else if (prop.is("alignment")) state_.alignment.set(prop);
        else if (prop.is("alloc-ranges")) state_.alloc_ranges.set(prop);
        else if (prop.is("no-map")) state_.no_map = true;
        else if (prop.is("status")) state_.status = KMEM_TRY(as_status(prop));
        return {};
    }
    constexpr Result<void> end_properties(const Cursor& cursor) {
        // Disabled children reserve nothing (as in Linux).
        if (state_.status != Status::kOkay) return {};
        const CellCounts cells = cursor.parent_cells();
        if (state_.reg.present) {
            const RegList reg = KMEM_TRY(as_reg(state_.reg.prop, cells));
            for (std::size_t i = 0; i < reg.size(); ++i) {
                const kmem::PhysicalRange range = KMEM_TRY(reg_range(reg, i, state_.reg.prop));
                if (!info_.reserved.push({range, ReservationSource::kReservedMemory, state_.no_map, cursor.name()}))
                    return limit_error(Limit::kReservedRanges, kMaxReservedRanges, state_.reg.prop.offset);
            }
            return {};
        }
        if (!state_.size.present) return missing("reg", cursor.offset());
        DynamicReservation dynamic{.node = cursor.name(), .no_map = state_.no_map};
        dynamic.size = KMEM_TRY(size_cells_value(state_.size.prop, cells));
        if (state_.alignment.present) dynamic.alignment = KMEM_TRY(size_cells_value(state_.alignment.prop, cells));
        if (state_.alloc_ranges.present) {
            dynamic.alloc_ranges = KMEM_TRY(as_reg(state_.alloc_ranges.prop, cells));
            for (std::size_t i = 0; i < dynamic.alloc_ranges.size(); ++i)
                KMEM_TRY(reg_range(dynamic.alloc_ranges, i, state_.alloc_ranges.prop));
        }
        if (!info_.dynamic_reservations.push(dynamic))
            return limit_error(Limit::kDynamicReservations, kMaxDynamicReservations, cursor.offset());
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

private:
    struct State {
        Optional reg{}, size{}, alignment{}, alloc_ranges{};
        bool no_map = false;
        Status status = Status::kOkay;
    };
    BasicMachineInfo& info_;
    State state_{};
};

class CpuMatcher {
public:
    constexpr explicit CpuMatcher(BasicMachineInfo& info) : info_(info) {}

    // /cpus and its children.
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (cursor.depth() <= 1) return cursor.top_level("cpus", Interest::kAll);
        state_.is_cpu = false;
        state_.own_timebase = false;
        state_.reg.present = false;
        state_.hart = Hart{};
        return Interest::kProperties;
    }
    // Inlined into the walk: a call saved registers and kept a frame of
    // decoded results, ten times a hart.
    [[gnu::always_inline]] Result<void> property(const Cursor& cursor, const Property& prop) {
        if (cursor.depth() == 1) {
            if (prop.is("timebase-frequency")) info_.timebase_frequency = KMEM_TRY(as_u32_or_u64(prop));
            return {};
        }
        // A cpu node has about ten properties, every one tested here: one
        // switch on the key instead of a chain of up to eight tests.
        switch (prop.key) {
            case name_key("device_type"):
                if (prop.is("device_type")) state_.is_cpu = KMEM_TRY(as_string(prop)) == "cpu";
                break;
            case name_key("reg"):
                if (prop.is("reg")) state_.reg.set(prop);
                break;
            case name_key("status"):
                if (prop.is("status")) state_.hart.status = KMEM_TRY(as_status(prop));
                break;
            case name_key("mmu-type"):
                if (prop.is("mmu-type")) {
                    state_.hart.has_mmu_type = true;
                    state_.hart.mmu_type = KMEM_TRY(as_string(prop));
                }
                break;
            case name_key("riscv,isa"):
                if (prop.is("riscv,isa")) state_.hart.isa = KMEM_TRY(as_string(prop));
                break;
            case name_key("riscv,isa-extensions"):
                if (prop.is("riscv,isa-extensions")) state_.hart.isa_extensions = KMEM_TRY(as_string_list(prop));
                break;
            case name_key("timebase-frequency"):
                if (prop.is("timebase-frequency")) {
                    state_.hart.timebase_frequency = KMEM_TRY(as_u32_or_u64(prop));
                    state_.own_timebase = true;
                }
                break;
            case name_key("phandle"):
                if (prop.is("phandle")) state_.hart.phandle = KMEM_TRY(as_phandle(prop));
                break;
            default:
                break;
        }
        return {};
    }
    constexpr Result<void> end_properties(const Cursor& cursor) {
        if (cursor.depth() == 1 || !state_.is_cpu) return {};
        if (!state_.reg.present) return missing("reg", cursor.offset());
        const RegList reg = KMEM_TRY(as_reg(state_.reg.prop, cursor.parent_cells()));
        if (reg.empty()) return missing("reg", state_.reg.prop.offset);
        Hart hart = state_.hart;
        hart.hart_id = reg[0].address;
        hart.node = cursor.name();
        // /cpus' properties precede its children (walk() enforces it), so
        // the shared frequency is known by now.
        if (!state_.own_timebase) hart.timebase_frequency = info_.timebase_frequency;
        if (info_.find_hart(hart.hart_id) != nullptr)
            return kmem::unexpected(Error{.code = ErrorCode::kDuplicateHartId, .offset = state_.reg.prop.offset,
                                          .detail = hart.hart_id, .property = state_.reg.prop.name});
        if (!info_.harts.push(hart)) return limit_error(Limit::kHarts, info_.harts.capacity(), cursor.offset());
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

private:
    struct State {
        bool is_cpu = false;
        bool own_timebase = false;
        Optional reg{};
        Hart hart{};
    };
    BasicMachineInfo& info_;
    State state_{};
};

class ChosenMatcher {
public:
    constexpr explicit ChosenMatcher(BasicMachineInfo& info) : info_(info) {}

    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        return cursor.top_level("chosen", Interest::kProperties);
    }
    Result<void> property(const Cursor&, const Property& prop) {
        Chosen& chosen = info_.chosen;
        if (prop.is("bootargs")) {
            chosen.bootargs = KMEM_TRY(as_string(prop));
            chosen.has_bootargs = true;
        } else if (prop.is("rng-seed")) {
            chosen.rng_seed = prop.value;
        } else if (prop.is("stdout-path")) {
            chosen.stdout_path = KMEM_TRY(as_string(prop));
        } else if (prop.is("boot-hartid")) {
            chosen.boot_hartid = KMEM_TRY(as_u32_or_u64(prop));
            chosen.has_boot_hartid = true;
        } else if (prop.is("linux,initrd-start")) {
            start_ = KMEM_TRY(as_u32_or_u64(prop));
            start_seen_ = true;
        } else if (prop.is("linux,initrd-end")) {
            end_ = KMEM_TRY(as_u32_or_u64(prop));
            end_seen_ = true;
        }
        return {};
    }
    constexpr Result<void> end_properties(const Cursor& cursor) {
        if (!start_seen_ && !end_seen_) return {};
        if (start_seen_ != end_seen_)
            return kmem::unexpected(Error{.code = ErrorCode::kIncompleteInitrd, .offset = cursor.offset(),
                                          .property = start_seen_ ? std::string_view("linux,initrd-end")
                                                                      : std::string_view("linux,initrd-start")});
        if (end_ < start_)
            return kmem::unexpected(Error{.code = ErrorCode::kInitrdEndBeforeStart, .offset = cursor.offset(),
                                          .detail = start_, .detail2 = end_});
        info_.chosen.has_initrd = true;
        info_.chosen.initrd = {kmem::PhysicalAddress(start_), kmem::PhysicalAddress(end_)};
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

private:
    BasicMachineInfo& info_;
    std::uint64_t start_ = 0, end_ = 0;
    bool start_seen_ = false, end_seen_ = false;
};

class TestDeviceMatcher {
public:
    constexpr explicit TestDeviceMatcher(BasicMachineInfo& info) : info_(info) {}

    // Any node outside /cpus (cpu nodes only), until the first device is found.
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (info_.has_test_device || cursor.is_top("cpus")) return Interest::kNone;
        compatible_ = false;
        reg_.present = false;
        return Interest::kAll;
    }
    Result<void> property(const Cursor&, const Property& prop) {
        if (prop.is("compatible")) {
            compatible_ = names_test_device(prop);
        } else if (prop.is("reg")) {
            reg_.set(prop);
        }
        return {};
    }
    constexpr Result<void> end_properties(const Cursor& cursor) {
        // Most nodes are not the device: the test inline, the work out of line.
        if (!compatible_) return {};
        return add_test_device(cursor);
    }
    [[gnu::noinline]] constexpr Result<void> add_test_device(const Cursor& cursor) {
        if (!reg_.present) return missing("reg", cursor.offset());
        const RegList reg = KMEM_TRY(as_reg(reg_.prop, cursor.parent_cells()));
        if (reg.empty()) return missing("reg", reg_.prop.offset);
        info_.has_test_device = true;
        info_.test_device = kmem::PhysicalAddress(reg[0].address);
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

private:
    // Out of line: this matcher sees most properties of the tree, and
    // inlined, this rare case made each of its calls save nine registers.
    // Any node may carry a compatible; a malformed one elsewhere in the tree
    // is not this matcher's business, it just cannot match.
    [[gnu::noinline]] static bool names_test_device(const Property& prop) {
        auto list = as_string_list(prop);
        if (!list) return false;
        for (std::string_view name : *list)
            if (name == "sifive,test0" || name == "sifive,test1") return true;
        return false;
    }

    BasicMachineInfo& info_;
    bool compatible_ = false;
    Optional reg_{};
};

// Counts the nodes right under /cpus.
struct CpusChildCounter {
    std::size_t count = 0;
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (cursor.depth() <= 1) return cursor.top_level("cpus", Interest::kSubnodes);
        ++count;
        return Interest::kNone;
    }
    constexpr Result<void> property(const Cursor&, const Property&) { return {}; }
    constexpr Result<void> end_properties(const Cursor&) { return {}; }
    constexpr Result<void> end_node(const Cursor&) { return {}; }
};

// A matcher that a caller may leave out of a walk at run time (null), so
// that callers wanting different matchers share one instance of the walk.
template <class M>
struct Optionally {
    M* matcher = nullptr;
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (matcher == nullptr) return Interest::kNone;
        return matcher->begin_node(cursor);
    }
    // Called only after a begin_node that asked for them, so never when null.
    Result<void> property(const Cursor& cursor, const Property& prop) { return matcher->property(cursor, prop); }
    constexpr Result<void> end_properties(const Cursor& cursor) { return matcher->end_properties(cursor); }
    constexpr Result<void> end_node(const Cursor& cursor) {
        if (matcher == nullptr) return {};
        return matcher->end_node(cursor);
    }
};

// The test device, the nodes under /cpus, or both: the two rare walks of a
// loader (after a failed read; before a read of many harts) as one instance
// of the walk instead of two (about 4 KB of code each).
[[gnu::noinline]] inline Result<void> walk_test_device_or_cpus(const Fdt& fdt, TestDeviceMatcher* test,
                                                                CpusChildCounter* counter) {
    Optionally<TestDeviceMatcher> tests{test};
    Optionally<CpusChildCounter> counters{counter};
    return walk(fdt, tests, counters);
}

template <kmem::CharSink S>
constexpr void write_range(S& sink, kmem::PhysicalRange range) {
    sink.put('[');
    kmem::print(sink, kmem::hex(range.begin().value()), ", ", kmem::hex(range.end().value()), ") ",
                kmem::size(range.size()));
}

// Printable ASCII as is, the rest escaped, so odd bootargs stay one line.
template <kmem::CharSink S>
constexpr void write_quoted(S& sink, std::string_view text) {
    sink.put('"');
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            sink.put('\\');
            sink.put(c);
        } else if (byte >= 0x20 && byte < 0x7f) {
            sink.put(c);
        } else {
            constexpr char kDigits[] = "0123456789abcdef";
            kmem::print(sink, "\\x");
            sink.put(kDigits[byte >> 4]);
            sink.put(kDigits[byte & 0xf]);
        }
    }
    sink.put('"');
}

}  // namespace detail

// Everything in MachineInfo from one pass over the structure block. `info` is
// overwritten (it is large, so the caller owns the storage: a MachineInfo is
// about 110 KiB, dominated by kMaxHarts; a BasicMachineInfo holds as many
// harts as its owner gave room for, count_cpus_children tells how many).
inline Result<void> read_machine_info(const Fdt& fdt, BasicMachineInfo& info) {
    // Reset in place: `info = MachineInfo{}` would build a temporary of
    // sizeof(MachineInfo) (~110 KiB) on the stack, too much for a loader stack.
    info.memory.clear();
    info.reserved.clear();
    info.dynamic_reservations.clear();
    info.harts.clear();
    info.timebase_frequency = 0;
    info.chosen = Chosen{};
    info.has_test_device = false;
    info.test_device = kmem::PhysicalAddress{};
    info.stdout_uart = StdoutUart{};
    info.fdt_size = fdt.size();
    info.boot_cpuid_phys = fdt.header().boot_cpuid_phys;
    for (std::size_t i = 0; i < fdt.mem_reserve_count(); ++i) {
        const MemReserveEntry entry = fdt.mem_reserve(i);
        const auto offset = static_cast<std::uint32_t>(fdt.header().off_mem_rsvmap + 16 * i);
        auto range = kmem::PhysicalRange::from_size(kmem::PhysicalAddress(entry.address), entry.size);
        if (!range)
            return kmem::unexpected(Error{.code = ErrorCode::kAddressOverflow, .offset = offset,
                                          .detail = entry.address, .detail2 = entry.size,
                                          .block = Block::kMemReserve});
        if (!info.reserved.push({*range, ReservationSource::kMemReserve, false, {}}))
            return detail::limit_error(Limit::kReservedRanges, kMaxReservedRanges, offset);
    }
    detail::MemoryMatcher memory(info);
    detail::ReservedMemoryMatcher reserved(info);
    detail::CpuMatcher cpus(info);
    detail::ChosenMatcher chosen(info);
    detail::TestDeviceMatcher test(info);
    detail::StdoutUartMatcher uarts;
    KMEM_TRY(walk(fdt, memory, reserved, cpus, chosen, test, uarts));
    info.stdout_uart = uarts.resolve(info.chosen.stdout_path);
    return {};
}

// The sifive,test device alone, for a loader whose read_machine_info()
// failed: the walk that stopped at a bad /chosen may not have reached /soc
// yet, and without the device the failure could only end through SBI, whose
// shutdown QEMU virt under OpenSBI 1.1 reports as success (its reset driver
// writes the pass value whatever the reason). Fails only where the structure
// itself, or the device's own node, is broken.
inline Result<void> read_test_device(const Fdt& fdt, BasicMachineInfo& info) {
    info.has_test_device = false;
    info.test_device = kmem::PhysicalAddress{};
    detail::TestDeviceMatcher test(info);
    return detail::walk_test_device_or_cpus(fdt, &test, nullptr);
}

// At least as many as the harts read_machine_info finds: the nodes right
// under /cpus (cpu nodes, and others such as cpu-map). For sizing the hart
// list of a BasicMachineInfo before reading into it.
inline Result<std::size_t> count_cpus_children(const Fdt& fdt) {
    detail::CpusChildCounter counter;
    KMEM_TRY(detail::walk_test_device_or_cpus(fdt, nullptr, &counter));
    return counter.count;
}

inline Result<void> read_machine_info(Bytes buffer, BasicMachineInfo& info) {
    const Fdt fdt = KMEM_TRY(Fdt::create(buffer));
    return read_machine_info(fdt, info);
}

template <kmem::CharSink S>
constexpr void BasicMachineInfo::format(S& sink) const {
    using kmem::write;
    kmem::print(sink, "device tree: ", fdt_size, " bytes, boot_cpuid_phys ", boot_cpuid_phys, "\nmemory: ",
                memory.size(), " ranges\n");
    for (const MemoryRange& m : memory) {
        kmem::print(sink, "  ");
        detail::write_range(sink, m.range);
        kmem::print(sink, " ", m.node);
        sink.put('\n');
    }
    kmem::print(sink, "reserved: ", reserved.size(), " ranges\n");
    for (const ReservedRange& r : reserved) {
        kmem::print(sink, "  ");
        detail::write_range(sink, r.range);
        if (r.source == ReservationSource::kMemReserve) {
            kmem::print(sink, " /memreserve/");
        } else {
            kmem::print(sink, " /reserved-memory/", r.node);
        }
        if (r.no_map) write(sink, " no-map");
        sink.put('\n');
    }
    kmem::print(sink, "dynamic reservations: ", dynamic_reservations.size());
    sink.put('\n');
    for (const DynamicReservation& d : dynamic_reservations) {
        kmem::print(sink, "  /reserved-memory/", d.node, " size ", kmem::size(d.size));
        if (d.alignment != 0) {
            kmem::print(sink, " alignment ", kmem::hex(d.alignment));
        }
        if (d.no_map) write(sink, " no-map");
        for (RegEntry entry : d.alloc_ranges) {
            kmem::print(sink, " in ", kmem::hex(entry.address), "+", kmem::hex(entry.size));
        }
        sink.put('\n');
    }
    std::size_t enabled = 0;
    for (const Hart& hart : harts) enabled += hart.enabled() ? 1 : 0;
    kmem::print(sink, "harts: ", harts.size(), " (", enabled, " okay), timebase ", timebase_frequency, " Hz\n");
    for (const Hart& hart : harts) {
        kmem::print(sink, "  hart ", hart.hart_id);
        sink.put(' ');
        kmem::print(sink, describe(hart.status), " mmu ", hart.has_mmu_type ? hart.mmu_type : "(none)", " isa ",
                    hart.isa.empty() ? "(none)" : hart.isa);
        if (!hart.isa_extensions.empty()) {
            kmem::print(sink, " extensions ", hart.isa_extensions.count());
        }
        if (hart.timebase_frequency != timebase_frequency) {
            kmem::print(sink, " timebase ", hart.timebase_frequency);
        }
        sink.put(' ');
        kmem::print(sink, hart.node);
        sink.put('\n');
    }
    kmem::print(sink, "chosen: bootargs ");
    if (chosen.has_bootargs)
        detail::write_quoted(sink, chosen.bootargs);
    else
        kmem::print(sink, "(none)");
    kmem::print(sink, ", stdout-path ", chosen.stdout_path.empty() ? "(none)" : chosen.stdout_path, ", rng-seed ",
                chosen.rng_seed.size(), " bytes, initrd ");
    if (chosen.has_initrd)
        detail::write_range(sink, chosen.initrd);
    else
        kmem::print(sink, "(none)");
    kmem::print(sink, ", boot-hartid ");
    if (chosen.has_boot_hartid)
        kmem::print(sink, chosen.boot_hartid);
    else
        kmem::print(sink, "(none)");
    kmem::print(sink, "\ntest device: ");
    if (has_test_device)
        kmem::print(sink, kmem::hex(test_device.value()));
    else
        kmem::print(sink, "(none)");
    kmem::print(sink, "\nstdout uart: ", describe(stdout_uart.kind));
    if (stdout_uart.kind != UartKind::kNone) {
        kmem::print(sink, " at ", kmem::hex(stdout_uart.base.value()), " reg-shift ", stdout_uart.reg_shift,
                    " reg-io-width ", stdout_uart.reg_io_width, " ", stdout_uart.node);
    }
    sink.put('\n');
}

}  // namespace loader_api::fdt
