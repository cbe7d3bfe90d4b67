#pragma once
// Why the planner refused: PlanError. It has a code, a text naming what it
// is about (an input, a list, a LoaderConfig field, a reason) and one
// payload whose type the code decides: either the reader's error that
// caused it (fdt::Error, ElfError, kmem::AllocError, kmem::PageTableError,
// BuildError, ValidationError) or the figures its message needs, each in
// its own type. The payload is a union with a tag, so the error is as large
// as its largest cause, not the sum of all, and `as<T>()` gives a cause
// only when it is the one held.

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "kmem/format.hpp"
#include "kmem/frame_allocator.hpp"
#include "kmem/page_table_error.hpp"
#include "kmem/range.hpp"
#include "kmem/riscv.hpp"
#include "loader_api/boot_info_builder.hpp"
#include "loader_api/elf/diagnostics.hpp"
#include "loader_api/fdt/errors.hpp"
#include "loader_api/plan/paging_modes.hpp"
#include "loader_api/validate.hpp"

namespace loader_api {

// The payload of each code is named after the colon.
enum class PlanErrorCode : std::uint8_t {
    DeviceTree,             // fdt::Error
    KernelElf,              // ElfError
    MissingLoaderConfig,    // none: no .loader_config section
    BadLoaderConfig,        // ConfigValue; what: the field
    WriteExecute,           // ElfError: the W+X segment (LoaderConfig.allow_write_execute = 0)
    SharedPageWriteExecute, // LinkedAddress: a page two segments share whose union is W+X
    Relocation,             // ElfError: unsupported or malformed relocation
    EntryNotExecutable,     // ElfError
    EntryMisaligned,        // LinkedAddress: the entry, not a multiple of 4
    NoRam,                  // none: the device tree has no (page-sized) memory
    InputOutsideRam,        // PhysicalPlace (range); what: which input
    LoaderRangesSharePage,  // PhysicalPlace (the page)
    BootHartNotFound,       // HartRef
    NoSModeHart,            // HartRef: the boot hart; what: why (disabled, no mmu-type, ...)
    NoPagingMode,           // ModeChoice: what the hart supports and loader.paging=; what: why
    RamTooLargeForPhysmap,  // PhysmapShortfall
    KernelDoesNotFit,       // KernelPlace; what: why
    OutOfMemory,            // kmem::AllocError: size and the largest free block; what: for what
    AllocatorCapacity,      // kmem::AllocError: which set ran out; what: for what
    PageTable,              // kmem::PageTableError: the mapping that failed
    BootInfoBuild,          // BuildError
    BootInfoInvalid,        // ValidationError: the planner's own BootInfo failed validate() (a planner bug)
    CapacityExceeded,       // ListCapacity; what: the list
    UnknownHart,            // HartRef: not a started hart of the plan (or the boot hart); what: why, if not that
    LoaderNotIdentityMappable,  // PhysicalPlace: the loader range above the mode's lower half
    InputBeyondPhysmap,     // PhysicalPlace: the input past the RAM the physmap can hold; what: which input
    RamBeyondPhysicalAddresses,  // PhysicalPlace: RAM reaching past 2^56; what: the memory node
    InitrdOverlapsInput,    // InputOverlap; what: the input the initrd overlaps
};

constexpr std::string_view to_string(PlanErrorCode code) {
    switch (code) {
        case PlanErrorCode::DeviceTree: return "DeviceTree";
        case PlanErrorCode::KernelElf: return "KernelElf";
        case PlanErrorCode::MissingLoaderConfig: return "MissingLoaderConfig";
        case PlanErrorCode::BadLoaderConfig: return "BadLoaderConfig";
        case PlanErrorCode::WriteExecute: return "WriteExecute";
        case PlanErrorCode::SharedPageWriteExecute: return "SharedPageWriteExecute";
        case PlanErrorCode::Relocation: return "Relocation";
        case PlanErrorCode::EntryNotExecutable: return "EntryNotExecutable";
        case PlanErrorCode::EntryMisaligned: return "EntryMisaligned";
        case PlanErrorCode::NoRam: return "NoRam";
        case PlanErrorCode::InputOutsideRam: return "InputOutsideRam";
        case PlanErrorCode::LoaderRangesSharePage: return "LoaderRangesSharePage";
        case PlanErrorCode::BootHartNotFound: return "BootHartNotFound";
        case PlanErrorCode::NoSModeHart: return "NoSModeHart";
        case PlanErrorCode::NoPagingMode: return "NoPagingMode";
        case PlanErrorCode::RamTooLargeForPhysmap: return "RamTooLargeForPhysmap";
        case PlanErrorCode::KernelDoesNotFit: return "KernelDoesNotFit";
        case PlanErrorCode::OutOfMemory: return "OutOfMemory";
        case PlanErrorCode::AllocatorCapacity: return "AllocatorCapacity";
        case PlanErrorCode::PageTable: return "PageTable";
        case PlanErrorCode::BootInfoBuild: return "BootInfoBuild";
        case PlanErrorCode::BootInfoInvalid: return "BootInfoInvalid";
        case PlanErrorCode::CapacityExceeded: return "CapacityExceeded";
        case PlanErrorCode::UnknownHart: return "UnknownHart";
        case PlanErrorCode::LoaderNotIdentityMappable: return "LoaderNotIdentityMappable";
        case PlanErrorCode::InputBeyondPhysmap: return "InputBeyondPhysmap";
        case PlanErrorCode::RamBeyondPhysicalAddresses: return "RamBeyondPhysicalAddresses";
        case PlanErrorCode::InitrdOverlapsInput: return "InitrdOverlapsInput";
    }
    return "?";
}

// --- Payloads that are not a reader's error ------------------------------------

// A LoaderConfig field's value and what this loader accepts: one value, or
// for an enum field every value its to_string names (from 0 up), so that
// the message lists them rather than one as if it were the only one.
struct ConfigValue {
    std::uint64_t value = 0;
    std::uint64_t expected = 0;
    std::string_view (*value_name)(std::uint32_t) = nullptr;
};

// An address in the kernel's linked (unslid) address space.
struct LinkedAddress {
    kmem::VirtualAddress address{};
};

// Physical memory the error is about, and the paging mode it was judged by
// (only the codes about the physmap or the identity map use the mode).
struct PhysicalPlace {
    kmem::PhysicalRange range{};
    kmem::PagingModeId mode = kmem::PagingModeId::Sv39;
};

struct HartRef {
    std::uint64_t hart_id = 0;
};

struct ModeChoice {
    PagingModeSet supported{};  // the boot hart's satp probe
    bool capped = false;        // loader.paging= given
    kmem::PagingModeId cap = kmem::PagingModeId::Sv57;
};

struct PhysmapShortfall {
    std::uint64_t needed = 0;     // bytes of physmap all RAM needs
    std::uint64_t available = 0;  // bytes of the mode's higher half
    kmem::PagingModeId mode = kmem::PagingModeId::Sv39;  // the largest mode allowed
};

// The kernel's linked range and the mode it does not fit.
struct KernelPlace {
    kmem::VirtualRange kernel{};
    kmem::PagingModeId mode = kmem::PagingModeId::Sv39;
};

struct ListCapacity {
    std::uint64_t capacity = 0;
};

struct InputOverlap {
    kmem::PhysicalRange initrd{};
    kmem::PhysicalRange input{};
};

// --- The error -------------------------------------------------------------------

class PlanError {
public:
    enum class Payload : std::uint8_t {
        None, DeviceTree, Elf, Alloc, PageTable, Build, Validation,
        Config, Linked, Physical, Hart, Modes, Physmap, Kernel, Capacity, Overlap,
    };

    constexpr PlanError() = default;
    constexpr explicit PlanError(PlanErrorCode error_code, std::string_view subject = {})
        : code(error_code), what(subject) {}
    template <class T>
    constexpr PlanError(PlanErrorCode error_code, std::string_view subject, const T& payload)
        : code(error_code), what(subject) {
        set(payload);
    }

    PlanErrorCode code = PlanErrorCode::DeviceTree;
    std::string_view what{};

    constexpr Payload payload() const { return payload_; }

    // The payload when it is a T, else nullptr.
    template <class T>
    constexpr const T* as() const {
        if constexpr (std::is_same_v<T, fdt::Error>) return payload_ == Payload::DeviceTree ? &held_.fdt : nullptr;
        else if constexpr (std::is_same_v<T, ElfError>) return payload_ == Payload::Elf ? &held_.elf : nullptr;
        else if constexpr (std::is_same_v<T, kmem::AllocError>) return payload_ == Payload::Alloc ? &held_.alloc : nullptr;
        else if constexpr (std::is_same_v<T, kmem::PageTableError>)
            return payload_ == Payload::PageTable ? &held_.page_table : nullptr;
        else if constexpr (std::is_same_v<T, BuildError>) return payload_ == Payload::Build ? &held_.build : nullptr;
        else if constexpr (std::is_same_v<T, ValidationError>)
            return payload_ == Payload::Validation ? &held_.validation : nullptr;
        else if constexpr (std::is_same_v<T, ConfigValue>) return payload_ == Payload::Config ? &held_.config : nullptr;
        else if constexpr (std::is_same_v<T, LinkedAddress>) return payload_ == Payload::Linked ? &held_.linked : nullptr;
        else if constexpr (std::is_same_v<T, PhysicalPlace>)
            return payload_ == Payload::Physical ? &held_.physical : nullptr;
        else if constexpr (std::is_same_v<T, HartRef>) return payload_ == Payload::Hart ? &held_.hart : nullptr;
        else if constexpr (std::is_same_v<T, ModeChoice>) return payload_ == Payload::Modes ? &held_.modes : nullptr;
        else if constexpr (std::is_same_v<T, PhysmapShortfall>)
            return payload_ == Payload::Physmap ? &held_.physmap : nullptr;
        else if constexpr (std::is_same_v<T, KernelPlace>) return payload_ == Payload::Kernel ? &held_.kernel : nullptr;
        else if constexpr (std::is_same_v<T, ListCapacity>)
            return payload_ == Payload::Capacity ? &held_.capacity : nullptr;
        else if constexpr (std::is_same_v<T, InputOverlap>) return payload_ == Payload::Overlap ? &held_.overlap : nullptr;
        else static_assert(sizeof(T) == 0, "not a PlanError payload");
    }

    // Assignment to a union member changes the active one, also during
    // constant evaluation (every payload is trivially copyable).
    constexpr void set(const fdt::Error& cause) {
        payload_ = Payload::DeviceTree;
        held_.fdt = cause;
    }
    constexpr void set(const ElfError& cause) {
        payload_ = Payload::Elf;
        held_.elf = cause;
    }
    constexpr void set(const kmem::AllocError& cause) {
        payload_ = Payload::Alloc;
        held_.alloc = cause;
    }
    constexpr void set(const kmem::PageTableError& cause) {
        payload_ = Payload::PageTable;
        held_.page_table = cause;
    }
    constexpr void set(const BuildError& cause) {
        payload_ = Payload::Build;
        held_.build = cause;
    }
    constexpr void set(const ValidationError& cause) {
        payload_ = Payload::Validation;
        held_.validation = cause;
    }
    constexpr void set(const ConfigValue& value) {
        payload_ = Payload::Config;
        held_.config = value;
    }
    constexpr void set(const LinkedAddress& value) {
        payload_ = Payload::Linked;
        held_.linked = value;
    }
    constexpr void set(const PhysicalPlace& value) {
        payload_ = Payload::Physical;
        held_.physical = value;
    }
    constexpr void set(const HartRef& value) {
        payload_ = Payload::Hart;
        held_.hart = value;
    }
    constexpr void set(const ModeChoice& value) {
        payload_ = Payload::Modes;
        held_.modes = value;
    }
    constexpr void set(const PhysmapShortfall& value) {
        payload_ = Payload::Physmap;
        held_.physmap = value;
    }
    constexpr void set(const KernelPlace& value) {
        payload_ = Payload::Kernel;
        held_.kernel = value;
    }
    constexpr void set(const ListCapacity& value) {
        payload_ = Payload::Capacity;
        held_.capacity = value;
    }
    constexpr void set(const InputOverlap& value) {
        payload_ = Payload::Overlap;
        held_.overlap = value;
    }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const;

private:
    struct Empty {};
    union Held {
        Empty none{};
        fdt::Error fdt;
        ElfError elf;
        kmem::AllocError alloc;
        kmem::PageTableError page_table;
        BuildError build;
        ValidationError validation;
        ConfigValue config;
        LinkedAddress linked;
        PhysicalPlace physical;
        HartRef hart;
        ModeChoice modes;
        PhysmapShortfall physmap;
        KernelPlace kernel;
        ListCapacity capacity;
        InputOverlap overlap;
    };
    Payload payload_ = Payload::None;
    Held held_{};
};

static_assert(std::is_trivially_copyable_v<PlanError> && std::is_trivially_destructible_v<PlanError>,
              "kmem::Expected holds a PlanError in a union");

template <kmem::CharSink S>
constexpr void PlanError::format(S& sink) const {
    using kmem::write;
    kmem::print(sink, "plan: ");
    // A code whose payload is missing is a planner bug; the message says so
    // rather than read a member the union does not hold.
    auto with = [&]<class T>(const T* payload, auto&& print_it) {
        if (payload == nullptr) {
            kmem::print(sink, to_string(code), " (no ", what.empty() ? std::string_view("detail") : what, ")");
            return;
        }
        print_it(*payload);
    };
    const PhysicalPlace* place = as<PhysicalPlace>();
    const HartRef* hart = as<HartRef>();
    switch (code) {
        case PlanErrorCode::DeviceTree:
            with(as<fdt::Error>(), [&](const fdt::Error& cause) { cause.format(sink); });
            break;
        case PlanErrorCode::KernelElf:
            with(as<ElfError>(), [&](const ElfError& cause) { kmem::print(sink, "kernel ELF: ", cause); });
            break;
        case PlanErrorCode::MissingLoaderConfig:
            kmem::print(sink, "the kernel has no .loader_config section (declare it with LOADER_API_KERNEL)");
            break;
        case PlanErrorCode::BadLoaderConfig:
            with(as<ConfigValue>(), [&](const ConfigValue& field) {
                kmem::print(sink, "bad .loader_config: ", what, " is ");
                if (field.value_name != nullptr) {
                    kmem::print(sink, field.value, " (accepted:");
                    for (std::uint32_t accepted = 0; field.value_name(accepted) != "?"; ++accepted) {
                        kmem::print(sink, accepted == 0 ? " " : ", ", accepted, " ", field.value_name(accepted));
                    }
                    sink.put(')');
                    return;
                }
                kmem::print(sink, kmem::hex(field.value), " (expected ", kmem::hex(field.expected), ")");
            });
            break;
        case PlanErrorCode::WriteExecute:
            with(as<ElfError>(), [&](const ElfError& cause) {
                kmem::print(sink,
                            "the kernel has a writable and executable segment and LoaderConfig.allow_write_execute "
                            "is 0: ",
                            cause);
            });
            break;
        case PlanErrorCode::SharedPageWriteExecute:
            with(as<LinkedAddress>(), [&](const LinkedAddress& page) {
                kmem::print(sink, "the page at ", kmem::hex(page.address.value()),
                            " is shared by a writable and an executable segment (allow_write_execute is 0)");
            });
            break;
        case PlanErrorCode::Relocation:
            with(as<ElfError>(), [&](const ElfError& cause) { kmem::print(sink, "kernel relocation: ", cause); });
            break;
        case PlanErrorCode::EntryNotExecutable:
            with(as<ElfError>(), [&](const ElfError& cause) { kmem::print(sink, "kernel entry: ", cause); });
            break;
        case PlanErrorCode::EntryMisaligned:
            with(as<LinkedAddress>(), [&](const LinkedAddress& entry) {
                kmem::print(sink, "the kernel entry ", kmem::hex(entry.address.value()),
                            " is not 4-byte aligned (the loader enters it through stvec, which holds only such "
                            "addresses)");
            });
            break;
        case PlanErrorCode::NoRam:
            write(sink, "the device tree describes no RAM (no whole page in any memory node)");
            break;
        case PlanErrorCode::InputOutsideRam:
            with(place, [&](const PhysicalPlace& input) {
                kmem::print(sink, "the ", what, " ", input.range, " is not inside RAM");
            });
            break;
        case PlanErrorCode::LoaderRangesSharePage:
            with(place, [&](const PhysicalPlace& page) {
                kmem::print(sink, "loader text and data share the page at ", kmem::hex(page.range.begin().value()),
                            " (they need different permissions)");
            });
            break;
        case PlanErrorCode::BootHartNotFound:
            with(hart, [&](const HartRef& boot) { kmem::print(sink, "the boot hart ", boot.hart_id, " is not under /cpus"); });
            break;
        case PlanErrorCode::NoSModeHart:
            with(hart, [&](const HartRef& boot) {
                kmem::print(sink, "no hart can run the kernel in S-mode: the boot hart ", boot.hart_id, " ", what);
            });
            break;
        case PlanErrorCode::NoPagingMode: kmem::print(sink, "no paging mode in the allowed range: ", what); break;
        case PlanErrorCode::RamTooLargeForPhysmap:
            with(as<PhysmapShortfall>(), [&](const PhysmapShortfall& shortfall) {
                kmem::print(sink, "RAM needs a physmap of ", kmem::size(shortfall.needed), " but the higher half of ",
                            kmem::name(shortfall.mode), " (the largest allowed mode) has ",
                            kmem::size(shortfall.available));
            });
            break;
        case PlanErrorCode::KernelDoesNotFit:
            with(as<KernelPlace>(), [&](const KernelPlace& kernel) {
                kmem::print(sink, "the kernel ", kernel.kernel, " does not fit ", kmem::name(kernel.mode), ": ", what);
            });
            break;
        case PlanErrorCode::OutOfMemory:
            with(as<kmem::AllocError>(), [&](const kmem::AllocError& cause) {
                kmem::print(sink, "not enough memory for ", what, ": ", cause);
            });
            break;
        case PlanErrorCode::AllocatorCapacity:
            with(as<kmem::AllocError>(), [&](const kmem::AllocError& cause) {
                kmem::print(sink, "while allocating ", what, ": ", cause);
            });
            break;
        case PlanErrorCode::PageTable:
            with(as<kmem::PageTableError>(), [&](const kmem::PageTableError& cause) { cause.format(sink); });
            break;
        case PlanErrorCode::BootInfoBuild:
            with(as<BuildError>(), [&](const BuildError& cause) { cause.format(sink); });
            break;
        case PlanErrorCode::BootInfoInvalid:
            with(as<ValidationError>(), [&](const ValidationError& cause) {
                kmem::print(sink, "the planned BootInfo fails validation (planner bug): ", cause);
            });
            break;
        case PlanErrorCode::CapacityExceeded:
            with(as<ListCapacity>(), [&](const ListCapacity& list) {
                kmem::print(sink, "more ", what, " than the planner's capacity of ", list.capacity);
            });
            break;
        case PlanErrorCode::UnknownHart:
            with(hart, [&](const HartRef& unknown) {
                kmem::print(sink, "hart ", unknown.hart_id,
                            what.empty() ? std::string_view(" is not a started hart of the plan") : what);
            });
            break;
        case PlanErrorCode::LoaderNotIdentityMappable:
            with(place, [&](const PhysicalPlace& loader) {
                kmem::print(sink, "the loader image ", loader.range, " lies above the lower half of ",
                            kmem::name(loader.mode), ", so it cannot be identity-mapped there");
            });
            break;
        case PlanErrorCode::InputBeyondPhysmap:
            with(place, [&](const PhysicalPlace& input) {
                kmem::print(sink, "the ", what, " ", input.range, " lies in RAM beyond what a physmap in the higher half of ",
                            kmem::name(input.mode), " can reach");
            });
            break;
        case PlanErrorCode::RamBeyondPhysicalAddresses:
            with(place, [&](const PhysicalPlace& ram) {
                kmem::print(sink, "the device tree's ", what, " has RAM at ", ram.range,
                            ", past the 56-bit physical addresses RISC-V page tables can map");
            });
            break;
        case PlanErrorCode::InitrdOverlapsInput:
            with(as<InputOverlap>(), [&](const InputOverlap& overlap) {
                const bool overlaps = overlap.initrd.overlaps(overlap.input);
                kmem::print(sink, "the /chosen initrd ", overlap.initrd,
                            overlaps ? " overlaps the " : " shares a page with the ", what, " ", overlap.input);
                if (!overlaps) write(sink, " (the memory map gives each page one kind)");
            });
            break;
    }
}

// A LoaderConfig enum field holding a value its enum does not name (to_string
// gives "?", as reflect.hpp reads it).
template <class Enum>
constexpr bool names_value(Enum value) {
    return to_string(value) != "?";
}
template <class Enum>
constexpr PlanError unnamed_config_value(std::string_view field, Enum value) {
    return PlanError(PlanErrorCode::BadLoaderConfig, field,
                     ConfigValue{static_cast<std::uint32_t>(value), 0,
                                 [](std::uint32_t named) { return to_string(static_cast<Enum>(named)); }});
}

}  // namespace loader_api
