#pragma once
// What the ELF reader reports when a file is refused: ElfErrorCode, and
// ElfError with the context that says where and format(), which writes the
// one-line message the loader, the tools and the tests show.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

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
        using kmem::write;
        using kmem::write_dec;
        using kmem::write_hex;
        auto segment = [&] {
            write(sink, "segment ");
            write_dec(sink, index);
        };
        auto quoted_name = [&] {
            sink.put('"');
            write(sink, name_view());
            if (name_truncated) write(sink, "...");
            sink.put('"');
        };
        write(sink, "elf: ");
        switch (code) {
        case ElfErrorCode::None: write(sink, "no error"); break;
        case ElfErrorCode::Truncated:
            write(sink, "file of ");
            write_dec(sink, value);
            write(sink, " bytes is shorter than the ELF header (");
            write_dec(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::BadMagic:
            write(sink, "bad magic");
            for (int i = 0; i < 4; ++i) {
                sink.put(' ');
                write_hex(sink, (value >> (8 * i)) & 0xff, 2);
            }
            write(sink, " at offset 0 (want 0x7f 0x45 0x4c 0x46)");
            break;
        case ElfErrorCode::BadClass:
            write(sink, "class ");
            write_dec(sink, value);
            write(sink, " at offset 4 is not ELFCLASS64 (2)");
            break;
        case ElfErrorCode::BadDataEncoding:
            write(sink, "data encoding ");
            write_dec(sink, value);
            write(sink, " at offset 5 is not little-endian (1)");
            break;
        case ElfErrorCode::BadVersion:
            write(sink, "version ");
            write_dec(sink, value);
            write(sink, " at offset ");
            write_dec(sink, offset);
            write(sink, " is not EV_CURRENT (1)");
            break;
        case ElfErrorCode::BadMachine:
            write(sink, "machine ");
            write_dec(sink, value);
            write(sink, " is not RISC-V (243)");
            break;
        case ElfErrorCode::BadType:
            write(sink, "type ");
            write_dec(sink, value);
            write(sink, " is neither ET_EXEC (2) nor ET_DYN (3)");
            break;
        case ElfErrorCode::BadHeaderSize:
            write(sink, "e_ehsize ");
            write_dec(sink, value);
            write(sink, " is not 64");
            break;
        case ElfErrorCode::BadProgramHeaderSize:
            write(sink, "e_phentsize ");
            write_dec(sink, value);
            write(sink, " is not 56");
            break;
        case ElfErrorCode::ProgramHeadersOutsideFile:
            write(sink, "program header table at offset ");
            write_hex(sink, offset);
            write(sink, " (");
            write_dec(sink, value);
            write(sink, " entries) runs past the end of the file (");
            write_hex(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::ExtendedCountWithoutSections:
            write(sink, "e_phnum is PN_XNUM (0xffff) but there is no section header 0 to hold the count");
            break;
        case ElfErrorCode::BadSectionHeaderSize:
            write(sink, "e_shentsize ");
            write_dec(sink, value);
            write(sink, " is not 64");
            break;
        case ElfErrorCode::SectionHeadersOutsideFile:
            write(sink, "section header table at offset ");
            write_hex(sink, offset);
            write(sink, " (");
            write_dec(sink, value);
            write(sink, " entries) runs past the end of the file (");
            write_hex(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::BadSectionNameTableIndex:
            write(sink, "section name table index ");
            write_dec(sink, value);
            write(sink, " is not below the section count ");
            write_dec(sink, limit);
            break;
        case ElfErrorCode::SectionOutsideFile:
            write(sink, "section ");
            write_dec(sink, index);
            write(sink, " at offset ");
            write_hex(sink, offset);
            write(sink, " size ");
            write_hex(sink, value);
            write(sink, " runs past the end of the file (");
            write_hex(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::SectionNameOutOfRange:
            write(sink, "section ");
            write_dec(sink, index);
            write(sink, " name offset ");
            write_hex(sink, value);
            write(sink, " is not a terminated string inside the section name table (");
            write_hex(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::SegmentOutsideFile:
            segment();
            write(sink, " file range offset ");
            write_hex(sink, offset);
            write(sink, " size ");
            write_hex(sink, value);
            write(sink, " runs past the end of the file (");
            write_hex(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::SegmentFileSizeExceedsMemorySize:
            segment();
            write(sink, " p_filesz ");
            write_hex(sink, value);
            write(sink, " exceeds p_memsz ");
            write_hex(sink, limit);
            break;
        case ElfErrorCode::SegmentAlignmentNotPowerOfTwo:
            segment();
            write(sink, " p_align ");
            write_hex(sink, value);
            write(sink, " is not a power of two");
            break;
        case ElfErrorCode::SegmentMisaligned:
            segment();
            write(sink, " p_vaddr ");
            write_hex(sink, value);
            write(sink, " and p_offset ");
            write_hex(sink, offset);
            write(sink, " differ modulo p_align ");
            write_hex(sink, limit);
            break;
        case ElfErrorCode::SegmentAddressOverflow:
            segment();
            write(sink, " p_vaddr ");
            write_hex(sink, offset);
            write(sink, " + p_memsz ");
            write_hex(sink, value);
            write(sink, " overflows the address space");
            break;
        case ElfErrorCode::SegmentsOverlap:
        case ElfErrorCode::SegmentsOutOfOrder:
            write(sink, "PT_LOAD segment ");
            write_dec(sink, index);
            write(sink, " at ");
            write_hex(sink, offset);
            write(sink, code == ElfErrorCode::SegmentsOverlap ? " overlaps PT_LOAD segment "
                                                              : " is below the preceding PT_LOAD segment ");
            write_dec(sink, limit);
            write(sink, " which ends at ");
            write_hex(sink, value);
            break;
        case ElfErrorCode::DuplicateSegment:
            segment();
            write(sink, " is a second ");
            write(sink, what);
            write(sink, " (the first is segment ");
            write_dec(sink, limit);
            sink.put(')');
            break;
        case ElfErrorCode::NoLoadSegments: write(sink, "no PT_LOAD segment with a non-zero p_memsz"); break;
        case ElfErrorCode::RelroOutsideLoad:
            segment();
            write(sink, " PT_GNU_RELRO at ");
            write_hex(sink, offset);
            write(sink, " does not start inside a PT_LOAD segment");
            break;
        case ElfErrorCode::DynamicMissingTag:
            write(sink, "dynamic table has ");
            write(sink, what);
            write(sink, " but not its companion tag");
            break;
        case ElfErrorCode::DynamicBadEntrySize:
            write(sink, "dynamic entry size ");
            write(sink, what);
            sink.put(' ');
            write_dec(sink, value);
            write(sink, " is not ");
            write_dec(sink, limit);
            break;
        case ElfErrorCode::DynamicBadTableSize:
            write(sink, "dynamic table size ");
            write(sink, what);
            sink.put(' ');
            write_dec(sink, value);
            write(sink, " is not a multiple of the entry size ");
            write_dec(sink, limit);
            break;
        case ElfErrorCode::DynamicAddressUnmapped:
            write(sink, what);
            write(sink, " address ");
            write_hex(sink, offset);
            write(sink, " size ");
            write_hex(sink, value);
            write(sink, " is not inside the file part of one PT_LOAD segment");
            break;
        case ElfErrorCode::UnsupportedPltRel:
            write(sink, "DT_PLTREL ");
            write_dec(sink, value);
            write(sink, " is not DT_RELA (7)");
            break;
        case ElfErrorCode::UnsupportedRelTable:
            write(sink, "DT_REL table at ");
            write_hex(sink, offset);
            write(sink, ": relocations without addends are not used on RISC-V and not supported");
            break;
        case ElfErrorCode::UnsupportedRelocation:
            write(sink, "unsupported relocation type ");
            write_dec(sink, value);
            if (!elf::relocation_type_name(static_cast<std::uint32_t>(value)).empty()) {
                write(sink, " (");
                write(sink, elf::relocation_type_name(static_cast<std::uint32_t>(value)));
                sink.put(')');
            }
            write(sink, " at ");
            write(sink, what);
            write(sink, " index ");
            write_dec(sink, index);
            write(sink, ", target ");
            write_hex(sink, offset);
            break;
        case ElfErrorCode::RelocationTargetUnmapped:
            write(sink, what);
            write(sink, " relocation ");
            write_dec(sink, index);
            write(sink, " target ");
            write_hex(sink, offset);
            write(sink, value != 0 ? " (8 bytes) is not inside the file part of a PT_LOAD segment"
                                   : " (8 bytes) is not inside a PT_LOAD segment");
            break;
        case ElfErrorCode::RelrBitmapFirst:
            write(sink, "DT_RELR entry ");
            write_dec(sink, index);
            write(sink, " is a bitmap ");
            write_hex(sink, value);
            write(sink, " with no address entry before it");
            break;
        case ElfErrorCode::SymbolOutOfRange:
            write(sink, what);
            write(sink, " relocation ");
            write_dec(sink, index);
            write(sink, " names symbol ");
            write_dec(sink, value);
            write(sink, " outside the symbol table (");
            write_dec(sink, limit);
            write(sink, " symbols fit)");
            break;
        case ElfErrorCode::SymbolNameOutOfRange:
            write(sink, what);
            write(sink, " relocation ");
            write_dec(sink, index);
            write(sink, ": symbol ");
            write_dec(sink, value);
            write(sink, " name offset ");
            write_hex(sink, offset);
            write(sink, " is not a terminated string inside DT_STRTAB (");
            write_dec(sink, limit);
            write(sink, " bytes)");
            break;
        case ElfErrorCode::UndefinedSymbol:
            write(sink, what);
            write(sink, " relocation ");
            write_dec(sink, index);
            write(sink, " (R_RISCV_64 at ");
            write_hex(sink, offset);
            write(sink, ") refers to undefined symbol ");
            quoted_name();
            write(sink, " (index ");
            write_dec(sink, value);
            sink.put(')');
            break;
        case ElfErrorCode::SectionNotFound:
            write(sink, "no section named ");
            quoted_name();
            break;
        case ElfErrorCode::WriteExecute:
            write(sink, "PT_LOAD ");
            segment();
            write(sink, " at ");
            write_hex(sink, offset);
            write(sink, " size ");
            write_hex(sink, value);
            write(sink, " is both writable and executable");
            break;
        case ElfErrorCode::EntryNotExecutable:
            write(sink, "entry point ");
            write_hex(sink, offset);
            write(sink, " is not inside an executable PT_LOAD segment");
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

}  // namespace elf_detail

}  // namespace loader_api
