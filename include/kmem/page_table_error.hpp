#pragma once
// Why a PageTable operation failed: the operation, the address, and for
// adopted tables what is wrong with the entry found. Apart from the builder
// so that code that only reports errors (the planner's PlanError) does not
// pull in the builder.

#include <cstdint>

#include "kmem/address.hpp"
#include "kmem/format.hpp"
#include "kmem/riscv.hpp"

namespace kmem {

enum class PageTableErrorCode : std::uint8_t {
    AlreadyMapped,       // map: part of the range is mapped already
    NotMapped,           // unmap/protect: part of the range is a hole; translate: va is unmapped
    Misaligned,          // va, pa or size is not a multiple of 4 KiB
    OutOfFrames,         // Memory refused a frame for a table
    NonCanonical,        // an address of the range is outside the mode's lower or upper half
    WriteExecute,        // W+X without allow_write_execute
    AddressOverflow,     // va + size or pa + size wraps past 2^64
    InvalidFlags,        // flags that no leaf can encode (see FlagsProblem)
    PhysicalOutOfRange,  // pa + size reaches past the 56-bit physical address space
    MalformedTable,      // adopt: an entry that map() never writes and that hardware faults on (see TableProblem)
};

enum class PageTableOperation : std::uint8_t { Create, Adopt, Map, Unmap, Protect, Translate };

// Why adopt() refused existing tables: each is an entry that the privileged
// spec makes a page fault (or reserves) and that the walks here would
// misread.
enum class TableProblem : std::uint8_t {
    None,
    RootMisaligned,       // the root is not a 4 KiB frame below the 56-bit limit
    PointerAtLevel0,      // a pointer to a further table in a 4 KiB-level table
    ReservedBits,         // bits 54..60 set, or PBMT 3
    PointerWithLeafBits,  // a pointer with A, D, U, PBMT or N set (reserved for leaves)
    WriteWithoutRead,     // leaf with R=0 W=1
    MisalignedSuperpage,  // superpage whose frame is not aligned to its size
    Napot,                // Svnapot entry: not supported by this class
};

constexpr const char* describe(TableProblem problem) {
    switch (problem) {
        case TableProblem::None: return "fine";
        case TableProblem::RootMisaligned: return "is not a 4 KiB-aligned frame below 2^56";
        case TableProblem::PointerAtLevel0: return "points to a further table from the last level";
        case TableProblem::ReservedBits: return "has reserved bits set (54..60, or PBMT 3)";
        case TableProblem::PointerWithLeafBits: return "points to a table but has A, D, U, PBMT or N set";
        case TableProblem::WriteWithoutRead: return "is writable but not readable (R=0 W=1 is reserved)";
        case TableProblem::MisalignedSuperpage: return "is a superpage whose frame is not aligned to its size";
        case TableProblem::Napot: return "is a Svnapot entry, which kmem does not read";
    }
    return "?";
}

struct PageTableError {
    PageTableErrorCode code{};
    PageTableOperation operation{};
    PagingModeId mode{};
    VirtualAddress va{};        // the failing address
    PhysicalAddress pa{};       // map: the pa meant for `va`; AlreadyMapped: what `va` maps to now
    VirtualAddress request_va{};  // the call's arguments, for the message
    std::uint64_t request_size = 0;
    PhysicalAddress request_pa{};
    PageFlags flags{};
    TableProblem problem{};  // MalformedTable: what is wrong with the entry for `va`
    unsigned level = 0;      // MalformedTable: the level of the table `pa` holding it

    // e.g. "page table Sv39: map 0xffffffc000000000 +2 MiB -> 0x80200000 rw---: 0xffffffc000001000 is already mapped (to 0x80001000)"
    template <CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "page table ", name(mode), ": ");
        switch (operation) {
            case PageTableOperation::Create: write(sink, "create"); break;
            case PageTableOperation::Adopt: write(sink, "adopt root "); break;
            case PageTableOperation::Map: write(sink, "map "); break;
            case PageTableOperation::Unmap: write(sink, "unmap "); break;
            case PageTableOperation::Protect: write(sink, "protect "); break;
            case PageTableOperation::Translate: write(sink, "translate "); break;
        }
        if (operation == PageTableOperation::Adopt) write_hex(sink, request_pa.value());
        else if (operation != PageTableOperation::Create) write_hex(sink, request_va.value());
        if (operation == PageTableOperation::Map || operation == PageTableOperation::Unmap ||
            operation == PageTableOperation::Protect) {
            kmem::print(sink, " +", kmem::size(request_size));
        }
        if (operation == PageTableOperation::Map) {
            kmem::print(sink, " -> ", kmem::hex(request_pa.value()));
        }
        if (operation == PageTableOperation::Map || operation == PageTableOperation::Protect) {
            sink.put(' ');
            flags.format(sink);
        }
        kmem::print(sink, ": ");
        switch (code) {
            case PageTableErrorCode::AlreadyMapped:
                kmem::print(sink, kmem::hex(va.value()), " is already mapped (to ", kmem::hex(pa.value()));
                sink.put(')');
                break;
            case PageTableErrorCode::NotMapped:
                kmem::print(sink, kmem::hex(va.value()), " is not mapped");
                break;
            case PageTableErrorCode::Misaligned: write(sink, "address and size must be multiples of 4 KiB"); break;
            case PageTableErrorCode::OutOfFrames:
                if (operation == PageTableOperation::Create) {
                    kmem::print(sink, "no frame for the root table");
                    break;
                }
                kmem::print(sink, "out of frames for a page table at ", kmem::hex(va.value()));
                break;
            case PageTableErrorCode::NonCanonical:
                kmem::print(sink, kmem::hex(va.value()), " is not canonical");
                break;
            case PageTableErrorCode::WriteExecute:
            case PageTableErrorCode::InvalidFlags: write(sink, describe(check_flags(flags))); break;
            case PageTableErrorCode::AddressOverflow: write(sink, "the range wraps past the top of the address space"); break;
            case PageTableErrorCode::PhysicalOutOfRange:
                kmem::print(sink, kmem::hex(va.value()), " would map ", kmem::hex(pa.value()),
                            ", beyond the 56-bit physical address space");
                break;
            case PageTableErrorCode::MalformedTable:
                if (problem == TableProblem::RootMisaligned) {
                    kmem::print(sink, "the root ");
                } else {
                    kmem::print(sink, "the entry for ", kmem::hex(va.value()), " in the level-", level, " table at ",
                                kmem::hex(pa.value()));
                    sink.put(' ');
                }
                kmem::print(sink, describe(problem));
                break;
        }
    }
};

}  // namespace kmem
