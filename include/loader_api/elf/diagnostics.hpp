#pragma once
// What the ELF reader reports when a file is refused: ElfErrorCode, and
// ElfError with the context that says where and format(), which writes the
// one-line message the loader, the tools and the tests show.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "loader_api/elf/constants.hpp"

namespace loader_api {

enum class ElfErrorCode : std::uint8_t {
    None,
    Truncated,
    BadMagic,
    BadClass,
    BadDataEncoding,
    BadVersion,
    BadMachine,
    BadType,
    BadHeaderSize,
    BadProgramHeaderSize,
    ProgramHeadersOutsideFile,
    ExtendedCountWithoutSections,
    BadSectionHeaderSize,
    SectionHeadersOutsideFile,
    BadSectionNameTableIndex,
    SectionOutsideFile,
    SectionNameOutOfRange,
    SegmentOutsideFile,
    SegmentFileSizeExceedsMemorySize,
    SegmentAlignmentNotPowerOfTwo,
    SegmentMisaligned,
    SegmentAddressOverflow,
    SegmentsOverlap,
    SegmentsOutOfOrder,
    DuplicateSegment,
    NoLoadSegments,
    RelroOutsideLoad,
    DynamicMissingTag,
    DynamicBadEntrySize,
    DynamicBadTableSize,
    DynamicAddressUnmapped,
    UnsupportedPltRel,
    UnsupportedRelTable,
    UnsupportedRelocation,
    RelocationTargetUnmapped,
    RelrBitmapFirst,
    SymbolOutOfRange,
    SymbolNameOutOfRange,
    UndefinedSymbol,
    SectionNotFound,
    WriteExecute,
    EntryNotExecutable,
};

// One error with the context that says where. Which fields are meaningful
// depends on the code; format() writes only those.
struct ElfError {
    ElfErrorCode code = ElfErrorCode::None;
    std::uint64_t index = 0;   // segment, section, relocation or dynamic entry index
    std::uint64_t offset = 0;  // file offset or virtual address
    std::uint64_t value = 0;   // the offending value
    std::uint64_t limit = 0;   // what it had to stay within / the other index
    std::string_view what{};   // static text: a dynamic tag, relocation type or table name
    // A name from the file (symbol, section), copied so the error outlives the bytes.
    std::array<char, 48> name{};
    std::uint8_t name_length = 0;
    bool name_truncated = false;

    constexpr std::string_view name_view() const { return {name.data(), name_length}; }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        auto segment = [&] {
            kmem::print(sink, "segment ", index);
        };
        auto quoted_name = [&] {
            sink.put('"');
            kmem::print(sink, name_view());
            if (name_truncated) kmem::print(sink, "...");
            sink.put('"');
        };
        kmem::print(sink, "elf: ");
        switch (code) {
        case ElfErrorCode::None: kmem::print(sink, "no error"); break;
        case ElfErrorCode::Truncated:
            kmem::print(sink, "file of ", value, " bytes is shorter than the ELF header (", limit, " bytes)");
            break;
        case ElfErrorCode::BadMagic:
            kmem::print(sink, "bad magic");
            for (int i = 0; i < 4; ++i) {
                sink.put(' ');
                kmem::print(sink, kmem::hex((value >> (8 * i)) & 0xff, 2));
            }
            kmem::print(sink, " at offset 0 (want 0x7f 0x45 0x4c 0x46)");
            break;
        case ElfErrorCode::BadClass:
            kmem::print(sink, "class ", value, " at offset 4 is not ELFCLASS64 (2)");
            break;
        case ElfErrorCode::BadDataEncoding:
            kmem::print(sink, "data encoding ", value, " at offset 5 is not little-endian (1)");
            break;
        case ElfErrorCode::BadVersion:
            kmem::print(sink, "version ", value, " at offset ", offset, " is not EV_CURRENT (1)");
            break;
        case ElfErrorCode::BadMachine:
            kmem::print(sink, "machine ", value, " is not RISC-V (243)");
            break;
        case ElfErrorCode::BadType:
            kmem::print(sink, "type ", value, " is neither ET_EXEC (2) nor ET_DYN (3)");
            break;
        case ElfErrorCode::BadHeaderSize:
            kmem::print(sink, "e_ehsize ", value, " is not 64");
            break;
        case ElfErrorCode::BadProgramHeaderSize:
            kmem::print(sink, "e_phentsize ", value, " is not 56");
            break;
        case ElfErrorCode::ProgramHeadersOutsideFile:
            kmem::print(sink, "program header table at offset ", kmem::hex(offset), " (", value,
                        " entries) runs past the end of the file (", kmem::hex(limit), " bytes)");
            break;
        case ElfErrorCode::ExtendedCountWithoutSections:
            kmem::print(sink, "e_phnum is PN_XNUM (0xffff) but there is no section header 0 to hold the count");
            break;
        case ElfErrorCode::BadSectionHeaderSize:
            kmem::print(sink, "e_shentsize ", value, " is not 64");
            break;
        case ElfErrorCode::SectionHeadersOutsideFile:
            kmem::print(sink, "section header table at offset ", kmem::hex(offset), " (", value,
                        " entries) runs past the end of the file (", kmem::hex(limit), " bytes)");
            break;
        case ElfErrorCode::BadSectionNameTableIndex:
            kmem::print(sink, "section name table index ", value, " is not below the section count ", limit);
            break;
        case ElfErrorCode::SectionOutsideFile:
            kmem::print(sink, "section ", index, " at offset ", kmem::hex(offset), " size ", kmem::hex(value),
                        " runs past the end of the file (", kmem::hex(limit), " bytes)");
            break;
        case ElfErrorCode::SectionNameOutOfRange:
            kmem::print(sink, "section ", index, " name offset ", kmem::hex(value),
                        " is not a terminated string inside the section name table (", kmem::hex(limit), " bytes)");
            break;
        case ElfErrorCode::SegmentOutsideFile:
            segment();
            kmem::print(sink, " file range offset ", kmem::hex(offset), " size ", kmem::hex(value),
                        " runs past the end of the file (", kmem::hex(limit), " bytes)");
            break;
        case ElfErrorCode::SegmentFileSizeExceedsMemorySize:
            segment();
            kmem::print(sink, " p_filesz ", kmem::hex(value), " exceeds p_memsz ", kmem::hex(limit));
            break;
        case ElfErrorCode::SegmentAlignmentNotPowerOfTwo:
            segment();
            kmem::print(sink, " p_align ", kmem::hex(value), " is not a power of two");
            break;
        case ElfErrorCode::SegmentMisaligned:
            segment();
            kmem::print(sink, " p_vaddr ", kmem::hex(value), " and p_offset ", kmem::hex(offset),
                        " differ modulo p_align ", kmem::hex(limit));
            break;
        case ElfErrorCode::SegmentAddressOverflow:
            segment();
            kmem::print(sink, " p_vaddr ", kmem::hex(offset), " + p_memsz ", kmem::hex(value),
                        " overflows the address space");
            break;
        case ElfErrorCode::SegmentsOverlap:
        case ElfErrorCode::SegmentsOutOfOrder:
            kmem::print(sink, "PT_LOAD segment ", index, " at ", kmem::hex(offset));
            kmem::print(sink, code == ElfErrorCode::SegmentsOverlap ? " overlaps PT_LOAD segment "
                                                                    : " is below the preceding PT_LOAD segment ");
            kmem::print(sink, limit, " which ends at ", kmem::hex(value));
            break;
        case ElfErrorCode::DuplicateSegment:
            segment();
            kmem::print(sink, " is a second ", what, " (the first is segment ", limit);
            sink.put(')');
            break;
        case ElfErrorCode::NoLoadSegments: kmem::print(sink, "no PT_LOAD segment with a non-zero p_memsz"); break;
        case ElfErrorCode::RelroOutsideLoad:
            segment();
            kmem::print(sink, " PT_GNU_RELRO at ", kmem::hex(offset), " does not start inside a PT_LOAD segment");
            break;
        case ElfErrorCode::DynamicMissingTag:
            kmem::print(sink, "dynamic table has ", what, " but not its companion tag");
            break;
        case ElfErrorCode::DynamicBadEntrySize:
            kmem::print(sink, "dynamic entry size ", what);
            sink.put(' ');
            kmem::print(sink, value, " is not ", limit);
            break;
        case ElfErrorCode::DynamicBadTableSize:
            kmem::print(sink, "dynamic table size ", what);
            sink.put(' ');
            kmem::print(sink, value, " is not a multiple of the entry size ", limit);
            break;
        case ElfErrorCode::DynamicAddressUnmapped:
            kmem::print(sink, what, " address ", kmem::hex(offset), " size ", kmem::hex(value),
                        " is not inside the file part of one PT_LOAD segment");
            break;
        case ElfErrorCode::UnsupportedPltRel:
            kmem::print(sink, "DT_PLTREL ", value, " is not DT_RELA (7)");
            break;
        case ElfErrorCode::UnsupportedRelTable:
            kmem::print(sink, "DT_REL table at ", kmem::hex(offset),
                        ": relocations without addends are not used on RISC-V and not supported");
            break;
        case ElfErrorCode::UnsupportedRelocation:
            kmem::print(sink, "unsupported relocation type ", value);
            if (!elf::relocation_type_name(static_cast<std::uint32_t>(value)).empty()) {
                kmem::print(sink, " (", elf::relocation_type_name(static_cast<std::uint32_t>(value)));
                sink.put(')');
            }
            kmem::print(sink, " at ", what, " index ", index, ", target ", kmem::hex(offset));
            break;
        case ElfErrorCode::RelocationTargetUnmapped:
            kmem::print(sink, what, " relocation ", index, " target ", kmem::hex(offset));
            kmem::print(sink, value != 0 ? " (8 bytes) is not inside the file part of a PT_LOAD segment"
                                         : " (8 bytes) is not inside a PT_LOAD segment");
            break;
        case ElfErrorCode::RelrBitmapFirst:
            kmem::print(sink, "DT_RELR entry ", index, " is a bitmap ", kmem::hex(value),
                        " with no address entry before it");
            break;
        case ElfErrorCode::SymbolOutOfRange:
            kmem::print(sink, what, " relocation ", index, " names symbol ", value, " outside the symbol table (",
                        limit, " symbols fit)");
            break;
        case ElfErrorCode::SymbolNameOutOfRange:
            kmem::print(sink, what, " relocation ", index, ": symbol ", value, " name offset ", kmem::hex(offset),
                        " is not a terminated string inside DT_STRTAB (", limit, " bytes)");
            break;
        case ElfErrorCode::UndefinedSymbol:
            kmem::print(sink, what, " relocation ", index, " (R_RISCV_64 at ", kmem::hex(offset),
                        ") refers to undefined symbol ");
            quoted_name();
            kmem::print(sink, " (index ", value);
            sink.put(')');
            break;
        case ElfErrorCode::SectionNotFound:
            kmem::print(sink, "no section named ");
            quoted_name();
            break;
        case ElfErrorCode::WriteExecute:
            kmem::print(sink, "PT_LOAD ");
            segment();
            kmem::print(sink, " at ", kmem::hex(offset), " size ", kmem::hex(value),
                        " is both writable and executable");
            break;
        case ElfErrorCode::EntryNotExecutable:
            kmem::print(sink, "entry point ", kmem::hex(offset), " is not inside an executable PT_LOAD segment");
            break;
        }
    }
};

namespace elf_detail {

constexpr ElfError error(ElfErrorCode code, std::uint64_t index = 0, std::uint64_t offset = 0,
                         std::uint64_t value = 0, std::uint64_t limit = 0, std::string_view what = {}) {
    ElfError e;
    e.code = code;
    e.index = index;
    e.offset = offset;
    e.value = value;
    e.limit = limit;
    e.what = what;
    return e;
}

constexpr void set_name(ElfError& e, std::span<const std::byte> bytes) {
    std::size_t n = 0;
    for (; n < bytes.size() && n < e.name.size(); ++n) e.name[n] = static_cast<char>(std::to_integer<std::uint8_t>(bytes[n]));
    e.name_length = static_cast<std::uint8_t>(n);
    e.name_truncated = bytes.size() > e.name.size();
}

constexpr void set_name(ElfError& e, std::string_view text) {
    std::size_t n = 0;
    for (; n < text.size() && n < e.name.size(); ++n) e.name[n] = text[n];
    e.name_length = static_cast<std::uint8_t>(n);
    e.name_truncated = text.size() > e.name.size();
}

// A refusal, built out of line straight into the caller's result. Inlined,
// each of the reader's refusals zeroed an ElfError and copied it twice
// (into Unexpected, then into the Expected): 100-200 bytes of code per site
// in the hot parse functions (issue 13). T is what the refusing function
// returns on success.
template <class T = void>
[[gnu::noinline, gnu::cold]] constexpr kmem::Expected<T, ElfError> fail(ElfErrorCode code, std::uint64_t index = 0,
                                                                       std::uint64_t offset = 0, std::uint64_t value = 0,
                                                                       std::uint64_t limit = 0,
                                                                       std::string_view what = {}) {
    return kmem::unexpected(error(code, index, offset, value, limit, what));
}

// As fail(), for the refusals that name something from the file.
template <class T = void, class Name>
[[gnu::noinline, gnu::cold]] constexpr kmem::Expected<T, ElfError> fail_named(Name name, ElfErrorCode code,
                                                                             std::uint64_t index = 0,
                                                                             std::uint64_t offset = 0,
                                                                             std::uint64_t value = 0,
                                                                             std::uint64_t limit = 0,
                                                                             std::string_view what = {}) {
    ElfError e = error(code, index, offset, value, limit, what);
    set_name(e, name);
    return kmem::unexpected(e);
}

// An error that a callee returned, passed on as the caller's result.
template <class T = void>
[[gnu::noinline, gnu::cold]] constexpr kmem::Expected<T, ElfError> pass(const ElfError& e) {
    return kmem::unexpected(e);
}

}  // namespace elf_detail

}  // namespace loader_api
