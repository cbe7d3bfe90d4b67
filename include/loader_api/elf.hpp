#pragma once
// A bounds-checked ELF64 reader over untrusted bytes: RISC-V, little-endian,
// EXEC or DYN. Nothing is allocated and nothing is trusted: parse() checks
// every header, segment, section and dynamic table once, so that the
// accessors afterwards cannot read outside the bytes. Relocations are checked
// as they are iterated, because what to write depends on the load slide.
//
// References: System V gABI (ELF-64 object file format), RISC-V ELF psABI
// (relocation numbers), the SHT_RELR proposal (generic-abi thread, 2018) for
// the compact relative relocation format.

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "kmem/range.hpp"

namespace loader_api {

// Raw ELF constants. Named kXxx rather than PT_LOAD etc. so that a translation
// unit that also includes <elf.h> (whose names are macros) still compiles.
namespace elf {
inline constexpr std::uint8_t kClass64 = 2;
inline constexpr std::uint8_t kDataLittleEndian = 1;
inline constexpr std::uint32_t kVersionCurrent = 1;
inline constexpr std::uint16_t kMachineRiscv = 243;
inline constexpr std::uint16_t kTypeExec = 2;
inline constexpr std::uint16_t kTypeDyn = 3;

inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kProgramHeaderSize = 56;
inline constexpr std::size_t kSectionHeaderSize = 64;
inline constexpr std::size_t kDynamicEntrySize = 16;
inline constexpr std::size_t kRelaEntrySize = 24;
inline constexpr std::size_t kRelrEntrySize = 8;
inline constexpr std::size_t kSymbolSize = 24;

inline constexpr std::uint16_t kPnXnum = 0xffff;
inline constexpr std::uint16_t kShnUndef = 0;
inline constexpr std::uint16_t kShnAbs = 0xfff1;
inline constexpr std::uint16_t kShnXindex = 0xffff;
inline constexpr std::uint32_t kShtNull = 0;
inline constexpr std::uint32_t kShtNobits = 8;

inline constexpr std::uint32_t kPtNull = 0;
inline constexpr std::uint32_t kPtLoad = 1;
inline constexpr std::uint32_t kPtDynamic = 2;
inline constexpr std::uint32_t kPtInterp = 3;
inline constexpr std::uint32_t kPtNote = 4;
inline constexpr std::uint32_t kPtPhdr = 6;
inline constexpr std::uint32_t kPtTls = 7;
inline constexpr std::uint32_t kPtGnuEhFrame = 0x6474e550;
inline constexpr std::uint32_t kPtGnuStack = 0x6474e551;
inline constexpr std::uint32_t kPtGnuRelro = 0x6474e552;
inline constexpr std::uint32_t kPtGnuProperty = 0x6474e553;
inline constexpr std::uint32_t kPtRiscvAttributes = 0x70000003;

inline constexpr std::uint32_t kPfX = 1;
inline constexpr std::uint32_t kPfW = 2;
inline constexpr std::uint32_t kPfR = 4;

inline constexpr std::uint64_t kDtNull = 0;
inline constexpr std::uint64_t kDtNeeded = 1;
inline constexpr std::uint64_t kDtPltRelSz = 2;
inline constexpr std::uint64_t kDtStrTab = 5;
inline constexpr std::uint64_t kDtSymTab = 6;
inline constexpr std::uint64_t kDtRela = 7;
inline constexpr std::uint64_t kDtRelaSz = 8;
inline constexpr std::uint64_t kDtRelaEnt = 9;
inline constexpr std::uint64_t kDtStrSz = 10;
inline constexpr std::uint64_t kDtSymEnt = 11;
inline constexpr std::uint64_t kDtRel = 17;
inline constexpr std::uint64_t kDtPltRel = 20;
inline constexpr std::uint64_t kDtTextRel = 22;
inline constexpr std::uint64_t kDtJmpRel = 23;
inline constexpr std::uint64_t kDtBindNow = 24;
inline constexpr std::uint64_t kDtFlags = 30;
inline constexpr std::uint64_t kDtRelrSz = 35;
inline constexpr std::uint64_t kDtRelr = 36;
inline constexpr std::uint64_t kDtRelrEnt = 37;
inline constexpr std::uint64_t kDtRelaCount = 0x6ffffff9;
inline constexpr std::uint64_t kDtFlags1 = 0x6ffffffb;

inline constexpr std::uint64_t kDfTextRel = 0x4;
inline constexpr std::uint64_t kDfBindNow = 0x8;
inline constexpr std::uint64_t kDf1Now = 0x1;
inline constexpr std::uint64_t kDf1Pie = 0x08000000;

inline constexpr std::uint32_t kRRiscvNone = 0;
inline constexpr std::uint32_t kRRiscv64 = 2;
inline constexpr std::uint32_t kRRiscvRelative = 3;
inline constexpr std::uint32_t kRRiscvJumpSlot = 5;

// Names from the RISC-V psABI, for error messages; empty when unknown.
constexpr std::string_view relocation_type_name(std::uint32_t type) {
    constexpr std::string_view kNames[] = {
        "R_RISCV_NONE", "R_RISCV_32", "R_RISCV_64", "R_RISCV_RELATIVE", "R_RISCV_COPY", "R_RISCV_JUMP_SLOT",
        "R_RISCV_TLS_DTPMOD32", "R_RISCV_TLS_DTPMOD64", "R_RISCV_TLS_DTPREL32", "R_RISCV_TLS_DTPREL64",
        "R_RISCV_TLS_TPREL32", "R_RISCV_TLS_TPREL64", "R_RISCV_TLSDESC"};
    if (type < std::size(kNames)) return kNames[type];
    if (type == 58) return "R_RISCV_IRELATIVE";
    return {};
}
}  // namespace elf

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

// Unaligned-safe: the bytes may lie at any offset of the file.
template <class U>
U load_native(const std::byte* at) {
    U value;
    __builtin_memcpy(&value, at, sizeof value);
    return value;
}

// Every header field goes through here, so at run time on a little-endian
// machine (host and target) it is one load of a constant size rather than
// a loop over bytes; `size` is 1, 2, 4 or 8.
constexpr std::uint64_t read_le(std::span<const std::byte> bytes, std::uint64_t offset, unsigned size) {
    if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
        const std::byte* at = bytes.data() + offset;
        switch (size) {
            case 8: return load_native<std::uint64_t>(at);
            case 4: return load_native<std::uint32_t>(at);
            case 2: return load_native<std::uint16_t>(at);
            case 1: return std::to_integer<std::uint8_t>(*at);
            default: break;
        }
    }
    std::uint64_t value = 0;
    for (unsigned i = 0; i < size; ++i)
        value |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[offset + i])} << (8 * i);
    return value;
}

// True when [offset, offset + size) lies inside `total` bytes, without overflow.
constexpr bool fits(std::uint64_t offset, std::uint64_t size, std::uint64_t total) {
    return offset <= total && size <= total - offset;
}

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

// The NUL-terminated string at `offset` inside `table`, without the NUL; an
// empty result with ok == false when it is not terminated inside the table.
struct CString {
    std::span<const std::byte> bytes{};
    bool ok = false;
};
constexpr CString c_string(std::span<const std::byte> table, std::uint64_t offset) {
    if (offset >= table.size()) return {};
    for (std::uint64_t i = offset; i < table.size(); ++i)
        if (table[i] == std::byte{0}) return {table.subspan(offset, i - offset), true};
    return {};
}

}  // namespace elf_detail

struct ProgramHeader {
    std::uint32_t type = 0;
    std::uint32_t flags = 0;
    std::uint64_t offset = 0;
    std::uint64_t vaddr = 0;
    std::uint64_t paddr = 0;
    std::uint64_t filesz = 0;
    std::uint64_t memsz = 0;
    std::uint64_t align = 0;
};

// A loadable segment as the loader needs it. `file_bytes` is the p_filesz
// prefix; the rest up to `memsz` is zero-filled.
struct Segment {
    std::size_t index = 0;  // in the program header table
    kmem::VirtualAddress vaddr{};
    std::uint64_t memsz = 0;
    std::uint64_t file_offset = 0;
    std::span<const std::byte> file_bytes{};
    std::uint32_t flags = 0;
    std::uint64_t align = 0;

    constexpr bool readable() const { return (flags & elf::kPfR) != 0; }
    constexpr bool writable() const { return (flags & elf::kPfW) != 0; }
    constexpr bool executable() const { return (flags & elf::kPfX) != 0; }
    constexpr bool write_execute() const { return writable() && executable(); }
    // parse() rejected segments whose end overflows, so the range exists.
    constexpr kmem::VirtualRange range() const { return {vaddr, vaddr + memsz}; }
};

// PT_TLS: the initialisation image (.tdata) is `init_image`, followed by
// memsz - filesz zero bytes (.tbss); every block is aligned to `align`.
struct TlsSegment {
    bool present = false;
    std::size_t index = 0;
    kmem::VirtualAddress vaddr{};
    std::span<const std::byte> init_image{};
    std::uint64_t memsz = 0;
    std::uint64_t align = 1;  // 0 in the file is reported as 1
};

struct RelroSegment {
    bool present = false;
    std::size_t index = 0;
    kmem::VirtualRange range{};
};

struct StackSegment {
    bool present = false;
    std::uint32_t flags = 0;
    constexpr bool executable() const { return (flags & elf::kPfX) != 0; }
};

// A table named by the dynamic section, already translated to a file offset.
struct DynamicTable {
    bool present = false;
    std::uint64_t vaddr = 0;
    std::uint64_t file_offset = 0;
    std::uint64_t size = 0;  // bytes
};

struct DynamicInfo {
    bool present = false;
    std::size_t entries = 0;  // up to and including DT_NULL
    DynamicTable rela{};
    DynamicTable jmprel{};  // DT_JMPREL (PLT relocations, always RELA here)
    DynamicTable relr{};
    DynamicTable symtab{};  // size: bytes from DT_SYMTAB to the end of its segment's file part
    DynamicTable strtab{};
    std::uint64_t rela_count = 0;  // DT_RELACOUNT, a hint: leading relative relocations
    std::uint64_t flags = 0;
    std::uint64_t flags_1 = 0;
    std::uint64_t needed = 0;  // number of DT_NEEDED
    bool textrel = false;
    bool bind_now = false;

    constexpr bool has_textrel() const { return textrel || (flags & elf::kDfTextRel) != 0; }
    constexpr bool now() const { return bind_now || (flags & elf::kDfBindNow) != 0 || (flags_1 & elf::kDf1Now) != 0; }
};

struct Section {
    std::size_t index = 0;
    std::span<const std::byte> name_bytes{};
    std::uint32_t type = 0;
    std::uint64_t flags = 0;
    kmem::VirtualAddress address{};
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::span<const std::byte> bytes{};  // empty for SHT_NOBITS

    constexpr bool name_is(std::string_view name) const {
        if (name.size() != name_bytes.size()) return false;
        for (std::size_t i = 0; i < name.size(); ++i)
            if (static_cast<char>(std::to_integer<std::uint8_t>(name_bytes[i])) != name[i]) return false;
        return true;
    }
    // Not constexpr: viewing bytes as chars needs a reinterpret_cast.
    std::string_view name() const { return {reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size()}; }
};

enum class RelocationSource : std::uint8_t { Rela, JmpRel, Relr };

constexpr std::string_view relocation_source_name(RelocationSource source) {
    switch (source) {
    case RelocationSource::Rela: return "DT_RELA";
    case RelocationSource::JmpRel: return "DT_JMPREL";
    case RelocationSource::Relr: return "DT_RELR";
    }
    return {};
}

// One patch: write `value` as 8 little-endian bytes at `target` + slide.
struct Relocation {
    RelocationSource source = RelocationSource::Rela;
    std::size_t index = 0;  // entry index in its table (RELR: the entry that produced it)
    std::uint32_t type = 0;  // kRRiscvRelative or kRRiscv64 (RELR yields kRRiscvRelative)
    std::uint32_t symbol = 0;
    kmem::VirtualAddress target{};  // link-time address
    std::uint64_t value = 0;
};

struct RelocationCounts {
    std::uint64_t rela = 0;           // DT_RELASZ / DT_RELAENT
    std::uint64_t jmprel = 0;         // DT_PLTRELSZ / 24
    bool jmprel_in_rela = false;      // the PLT relocations are part of the DT_RELA range
    std::uint64_t relr_entries = 0;   // DT_RELRSZ / 8
    std::uint64_t relr_relative = 0;  // relative relocations the RELR entries encode
};

class ElfFile {
public:
    constexpr ElfFile() = default;

    static constexpr kmem::Expected<ElfFile, ElfError> parse(std::span<const std::byte> bytes);

    constexpr std::span<const std::byte> bytes() const { return bytes_; }
    constexpr std::uint16_t type() const { return type_; }
    constexpr bool is_pie() const { return type_ == elf::kTypeDyn; }
    constexpr kmem::VirtualAddress entry() const { return kmem::VirtualAddress(entry_); }
    constexpr std::uint32_t header_flags() const { return header_flags_; }

    constexpr std::size_t program_header_count() const { return phnum_; }
    constexpr ProgramHeader program_header(std::size_t index) const {
        KMEM_ASSERT(index < phnum_);
        const std::uint64_t at = phoff_ + index * elf::kProgramHeaderSize;
        ProgramHeader ph;
        ph.type = static_cast<std::uint32_t>(read(at, 4));
        ph.flags = static_cast<std::uint32_t>(read(at + 4, 4));
        ph.offset = read(at + 8, 8);
        ph.vaddr = read(at + 16, 8);
        ph.paddr = read(at + 24, 8);
        ph.filesz = read(at + 32, 8);
        ph.memsz = read(at + 40, 8);
        ph.align = read(at + 48, 8);
        return ph;
    }

    // Iterates the PT_LOAD segments in program header order (ascending vaddr).
    class LoadSegments {
    public:
        class Iterator {
        public:
            constexpr Iterator(const ElfFile* file, std::size_t index) : file_(file), index_(index) { skip(); }
            constexpr Segment operator*() const { return file_->segment(index_); }
            constexpr Iterator& operator++() {
                ++index_;
                skip();
                return *this;
            }
            friend constexpr bool operator==(const Iterator& a, const Iterator& b) { return a.index_ == b.index_; }

        private:
            constexpr void skip() {
                while (index_ < file_->phnum_ && file_->program_header(index_).type != elf::kPtLoad) ++index_;
            }
            const ElfFile* file_;
            std::size_t index_;
        };
        constexpr explicit LoadSegments(const ElfFile* file) : file_(file) {}
        constexpr Iterator begin() const { return {file_, 0}; }
        constexpr Iterator end() const { return {file_, file_->phnum_}; }

    private:
        const ElfFile* file_;
    };
    constexpr LoadSegments load_segments() const { return LoadSegments(this); }
    constexpr std::size_t load_segment_count() const { return load_count_; }

    // The segment view of program header `index` (any type; meaningful for PT_LOAD).
    constexpr Segment segment(std::size_t index) const {
        const ProgramHeader ph = program_header(index);
        Segment s;
        s.index = index;
        s.vaddr = kmem::VirtualAddress(ph.vaddr);
        s.memsz = ph.memsz;
        s.file_offset = ph.offset;
        s.file_bytes = bytes_.subspan(ph.offset, ph.filesz);
        s.flags = ph.flags;
        s.align = ph.align;
        return s;
    }

    // From the lowest PT_LOAD start to the highest PT_LOAD end.
    constexpr kmem::VirtualRange image_range() const {
        return {kmem::VirtualAddress(image_begin_), kmem::VirtualAddress(image_end_)};
    }

    constexpr TlsSegment tls() const {
        TlsSegment t;
        if (tls_index_ < 0) return t;
        const ProgramHeader ph = program_header(static_cast<std::size_t>(tls_index_));
        t.present = true;
        t.index = static_cast<std::size_t>(tls_index_);
        t.vaddr = kmem::VirtualAddress(ph.vaddr);
        t.init_image = bytes_.subspan(ph.offset, ph.filesz);
        t.memsz = ph.memsz;
        t.align = ph.align == 0 ? 1 : ph.align;
        return t;
    }

    constexpr RelroSegment relro() const {
        RelroSegment r;
        if (relro_index_ < 0) return r;
        const ProgramHeader ph = program_header(static_cast<std::size_t>(relro_index_));
        r.present = true;
        r.index = static_cast<std::size_t>(relro_index_);
        r.range = {kmem::VirtualAddress(ph.vaddr), kmem::VirtualAddress(ph.vaddr + ph.memsz)};
        return r;
    }

    constexpr StackSegment stack() const {
        StackSegment s;
        if (stack_index_ < 0) return s;
        s.present = true;
        s.flags = program_header(static_cast<std::size_t>(stack_index_)).flags;
        return s;
    }

    constexpr const DynamicInfo& dynamic() const { return dynamic_; }

    // Translates [vaddr, vaddr + size) to a file offset when it lies in the
    // file-backed part of one PT_LOAD segment.
    constexpr kmem::Expected<std::uint64_t, ElfError> file_offset_of(std::uint64_t vaddr, std::uint64_t size,
                                                                     std::string_view what) const {
        for (std::size_t i = 0; i < phnum_; ++i) {
            const ProgramHeader ph = program_header(i);
            if (ph.type != elf::kPtLoad || vaddr < ph.vaddr) continue;
            if (elf_detail::fits(vaddr - ph.vaddr, size, ph.filesz)) return ph.offset + (vaddr - ph.vaddr);
        }
        return kmem::unexpected(elf_detail::error(ElfErrorCode::DynamicAddressUnmapped, 0, vaddr, size, 0, what));
    }

    // Sections. Index 0 is the null section when a table is present.
    constexpr std::size_t section_count() const { return shnum_; }
    constexpr Section section(std::size_t index) const {
        KMEM_ASSERT(index < shnum_);
        const std::uint64_t at = shoff_ + index * elf::kSectionHeaderSize;
        Section s;
        s.index = index;
        const std::uint64_t name = read(at, 4);
        s.type = static_cast<std::uint32_t>(read(at + 4, 4));
        s.flags = read(at + 8, 8);
        s.address = kmem::VirtualAddress(read(at + 16, 8));
        s.offset = read(at + 24, 8);
        s.size = read(at + 32, 8);
        if (s.type != elf::kShtNobits && s.type != elf::kShtNull) s.bytes = bytes_.subspan(s.offset, s.size);
        if (has_section_names_) s.name_bytes = elf_detail::c_string(section_names(), name).bytes;
        return s;
    }
    constexpr kmem::Expected<Section, ElfError> find_section(std::string_view name) const {
        for (std::size_t i = 1; i < shnum_; ++i) {
            const Section s = section(i);
            if (s.name_is(name)) return s;
        }
        ElfError e = elf_detail::error(ElfErrorCode::SectionNotFound);
        elf_detail::set_name(e, name);
        return kmem::unexpected(e);
    }

    constexpr RelocationCounts relocation_counts() const {
        RelocationCounts c;
        c.rela = dynamic_.rela.size / elf::kRelaEntrySize;
        c.jmprel = dynamic_.jmprel.size / elf::kRelaEntrySize;
        c.jmprel_in_rela = dynamic_.jmprel.present && !jmprel_separate();
        c.relr_entries = dynamic_.relr.size / elf::kRelrEntrySize;
        for (std::uint64_t i = 0; i < c.relr_entries; ++i) {
            const std::uint64_t entry = read(dynamic_.relr.file_offset + i * elf::kRelrEntrySize, 8);
            c.relr_relative += (entry & 1) == 0 ? 1 : static_cast<std::uint64_t>(__builtin_popcountll(entry >> 1));
        }
        return c;
    }

    // Calls `f(const Relocation&)` for every dynamic relocation in the order
    // DT_RELA, DT_JMPREL, DT_RELR, with the value to write for `slide` (load
    // address minus link address). Stops at the first relocation that cannot
    // be applied and returns why; relocations before it were already reported.
    template <class F>
        requires std::invocable<F&, const Relocation&>
    constexpr kmem::Expected<void, ElfError> for_each_relocation(std::uint64_t slide, F&& f) const;

    // Per the W^X policy: the first PT_LOAD that is writable and executable.
    constexpr kmem::Expected<void, ElfError> check_no_write_execute() const {
        for (const Segment s : load_segments())
            if (s.write_execute())
                return kmem::unexpected(
                    elf_detail::error(ElfErrorCode::WriteExecute, s.index, s.vaddr.value(), s.memsz));
        return {};
    }

    constexpr kmem::Expected<void, ElfError> check_entry_executable() const {
        for (const Segment s : load_segments())
            if (s.executable() && s.range().contains(entry())) return {};
        return kmem::unexpected(elf_detail::error(ElfErrorCode::EntryNotExecutable, 0, entry_));
    }

private:
    constexpr std::uint64_t read(std::uint64_t offset, unsigned size) const {
        return elf_detail::read_le(bytes_, offset, size);
    }
    constexpr std::span<const std::byte> section_names() const { return bytes_.subspan(shstr_offset_, shstr_size_); }
    // GNU ld on RISC-V counts .rela.plt inside DT_RELASZ; then it is already
    // covered by DT_RELA and must not be applied twice.
    constexpr bool jmprel_separate() const {
        if (!dynamic_.jmprel.present) return false;
        const auto& r = dynamic_.rela;
        const auto& j = dynamic_.jmprel;
        return !(r.present && j.file_offset >= r.file_offset &&
                 j.file_offset - r.file_offset <= r.size && j.size <= r.size - (j.file_offset - r.file_offset));
    }

    constexpr kmem::Expected<void, ElfError> parse_sections(std::uint64_t e_shoff, std::uint16_t e_shnum,
                                                            std::uint16_t e_shentsize, std::uint16_t e_shstrndx);
    constexpr kmem::Expected<void, ElfError> parse_segments();
    constexpr kmem::Expected<void, ElfError> parse_dynamic();
    constexpr kmem::Expected<DynamicTable, ElfError> table(std::uint64_t vaddr, std::uint64_t size,
                                                           std::string_view what) const {
        DynamicTable t;
        t.present = true;
        t.vaddr = vaddr;
        t.size = size;
        t.file_offset = KMEM_TRY(file_offset_of(vaddr, size, what));
        return t;
    }

    // Where a relocation writes must be inside a PT_LOAD; RELR also reads its
    // addend there, so it must be file-backed.
    constexpr kmem::Expected<std::uint64_t, ElfError> check_target(RelocationSource source, std::size_t index,
                                                                   std::uint64_t target, bool need_file) const {
        for (std::size_t i = 0; i < phnum_; ++i) {
            const ProgramHeader ph = program_header(i);
            if (ph.type != elf::kPtLoad || target < ph.vaddr) continue;
            if (elf_detail::fits(target - ph.vaddr, 8, need_file ? ph.filesz : ph.memsz))
                return ph.offset + (target - ph.vaddr);
        }
        return kmem::unexpected(elf_detail::error(ElfErrorCode::RelocationTargetUnmapped, index, target,
                                                  need_file ? 1 : 0, 0, relocation_source_name(source)));
    }

    template <class F>
    constexpr kmem::Expected<void, ElfError> rela_table(RelocationSource source, const DynamicTable& t,
                                                        std::uint64_t slide, F& f) const;

    std::span<const std::byte> bytes_{};
    std::uint16_t type_ = 0;
    std::uint64_t entry_ = 0;
    std::uint32_t header_flags_ = 0;
    std::uint64_t phoff_ = 0;
    std::size_t phnum_ = 0;
    std::uint64_t shoff_ = 0;
    std::size_t shnum_ = 0;
    bool has_section_names_ = false;
    std::uint64_t shstr_offset_ = 0;
    std::uint64_t shstr_size_ = 0;
    std::size_t load_count_ = 0;
    std::uint64_t image_begin_ = 0;
    std::uint64_t image_end_ = 0;
    std::ptrdiff_t tls_index_ = -1;
    std::ptrdiff_t relro_index_ = -1;
    std::ptrdiff_t stack_index_ = -1;
    std::ptrdiff_t dynamic_index_ = -1;
    DynamicInfo dynamic_{};
};

constexpr kmem::Expected<ElfFile, ElfError> ElfFile::parse(std::span<const std::byte> bytes) {
    using elf_detail::error;
    if (bytes.size() < elf::kHeaderSize)
        return kmem::unexpected(error(ElfErrorCode::Truncated, 0, 0, bytes.size(), elf::kHeaderSize));
    ElfFile file;
    file.bytes_ = bytes;
    const std::uint64_t magic = file.read(0, 4);
    if (magic != 0x464c457f) return kmem::unexpected(error(ElfErrorCode::BadMagic, 0, 0, magic));
    if (const auto c = file.read(4, 1); c != elf::kClass64) return kmem::unexpected(error(ElfErrorCode::BadClass, 0, 4, c));
    if (const auto d = file.read(5, 1); d != elf::kDataLittleEndian)
        return kmem::unexpected(error(ElfErrorCode::BadDataEncoding, 0, 5, d));
    if (const auto v = file.read(6, 1); v != elf::kVersionCurrent)
        return kmem::unexpected(error(ElfErrorCode::BadVersion, 0, 6, v));
    if (const auto m = file.read(18, 2); m != elf::kMachineRiscv)
        return kmem::unexpected(error(ElfErrorCode::BadMachine, 0, 18, m));
    file.type_ = static_cast<std::uint16_t>(file.read(16, 2));
    if (file.type_ != elf::kTypeExec && file.type_ != elf::kTypeDyn)
        return kmem::unexpected(error(ElfErrorCode::BadType, 0, 16, file.type_));
    if (const auto v = file.read(20, 4); v != elf::kVersionCurrent)
        return kmem::unexpected(error(ElfErrorCode::BadVersion, 0, 20, v));
    file.entry_ = file.read(24, 8);
    file.header_flags_ = static_cast<std::uint32_t>(file.read(48, 4));
    if (const auto s = file.read(52, 2); s != elf::kHeaderSize)
        return kmem::unexpected(error(ElfErrorCode::BadHeaderSize, 0, 52, s));

    KMEM_TRY(file.parse_sections(file.read(40, 8), static_cast<std::uint16_t>(file.read(60, 2)),
                                 static_cast<std::uint16_t>(file.read(58, 2)),
                                 static_cast<std::uint16_t>(file.read(62, 2))));

    file.phoff_ = file.read(32, 8);
    std::uint64_t phnum = file.read(56, 2);
    if (phnum == elf::kPnXnum) {
        // The real count lives in section 0's sh_info (gABI extended numbering).
        if (file.shnum_ == 0) return kmem::unexpected(error(ElfErrorCode::ExtendedCountWithoutSections));
        phnum = file.read(file.shoff_ + 44, 4);
    }
    if (phnum != 0) {
        if (const auto s = file.read(54, 2); s != elf::kProgramHeaderSize)
            return kmem::unexpected(error(ElfErrorCode::BadProgramHeaderSize, 0, 54, s));
    }
    // phnum <= 2^32 so the product cannot overflow.
    if (!elf_detail::fits(file.phoff_, phnum * elf::kProgramHeaderSize, bytes.size()))
        return kmem::unexpected(error(ElfErrorCode::ProgramHeadersOutsideFile, 0, file.phoff_, phnum, bytes.size()));
    file.phnum_ = static_cast<std::size_t>(phnum);

    KMEM_TRY(file.parse_segments());
    KMEM_TRY(file.parse_dynamic());
    return file;
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_sections(std::uint64_t e_shoff, std::uint16_t e_shnum,
                                                                 std::uint16_t e_shentsize, std::uint16_t e_shstrndx) {
    using elf_detail::error;
    if (e_shoff == 0) return {};  // no section header table: e_shnum is meaningless then
    if (e_shentsize != elf::kSectionHeaderSize)
        return kmem::unexpected(error(ElfErrorCode::BadSectionHeaderSize, 0, 58, e_shentsize));
    // Entry 0 may hold the real count; until it is readable, report e_shnum
    // (a truncated file's header still says how many there were).
    if (!elf_detail::fits(e_shoff, elf::kSectionHeaderSize, bytes_.size()))
        return kmem::unexpected(
            error(ElfErrorCode::SectionHeadersOutsideFile, 0, e_shoff, e_shnum != 0 ? e_shnum : 1, bytes_.size()));
    // Extended numbering: counts that do not fit 16 bits live in section 0.
    const std::uint64_t shnum = e_shnum == 0 ? read(e_shoff + 32, 8) : e_shnum;
    const std::uint64_t shstrndx = e_shstrndx == elf::kShnXindex ? read(e_shoff + 40, 4) : e_shstrndx;
    if (shnum > bytes_.size() / elf::kSectionHeaderSize ||
        !elf_detail::fits(e_shoff, shnum * elf::kSectionHeaderSize, bytes_.size()))
        return kmem::unexpected(error(ElfErrorCode::SectionHeadersOutsideFile, 0, e_shoff, shnum, bytes_.size()));
    shoff_ = e_shoff;
    shnum_ = static_cast<std::size_t>(shnum);
    if (shnum_ == 0) return {};
    if (shstrndx != elf::kShnUndef && shstrndx >= shnum)
        return kmem::unexpected(error(ElfErrorCode::BadSectionNameTableIndex, 0, 62, shstrndx, shnum));

    for (std::size_t i = 0; i < shnum_; ++i) {
        const std::uint64_t at = shoff_ + i * elf::kSectionHeaderSize;
        const auto type = read(at + 4, 4);
        const auto offset = read(at + 24, 8);
        const auto size = read(at + 32, 8);
        if (type != elf::kShtNobits && type != elf::kShtNull && !elf_detail::fits(offset, size, bytes_.size()))
            return kmem::unexpected(error(ElfErrorCode::SectionOutsideFile, i, offset, size, bytes_.size()));
    }
    if (shstrndx == elf::kShnUndef) return {};
    const std::uint64_t names_at = shoff_ + shstrndx * elf::kSectionHeaderSize;
    if (read(names_at + 4, 4) == elf::kShtNobits)
        return kmem::unexpected(error(ElfErrorCode::BadSectionNameTableIndex, 0, 62, shstrndx, shnum));
    shstr_offset_ = read(names_at + 24, 8);
    shstr_size_ = read(names_at + 32, 8);
    // The loop above skips SHT_NULL sections, which the name table may claim
    // to be (found by fuzzing): its bytes are read, so check them here.
    if (!elf_detail::fits(shstr_offset_, shstr_size_, bytes_.size()))
        return kmem::unexpected(
            error(ElfErrorCode::SectionOutsideFile, shstrndx, shstr_offset_, shstr_size_, bytes_.size()));
    has_section_names_ = true;
    for (std::size_t i = 0; i < shnum_; ++i) {
        const std::uint64_t name = read(shoff_ + i * elf::kSectionHeaderSize, 4);
        if (!elf_detail::c_string(section_names(), name).ok)
            return kmem::unexpected(error(ElfErrorCode::SectionNameOutOfRange, i, 0, name, shstr_size_));
    }
    return {};
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_segments() {
    using elf_detail::error;
    std::ptrdiff_t previous_load = -1;
    std::uint64_t previous_end = 0;
    for (std::size_t i = 0; i < phnum_; ++i) {
        const ProgramHeader ph = program_header(i);
        if (!elf_detail::fits(ph.offset, ph.filesz, bytes_.size()))
            return kmem::unexpected(error(ElfErrorCode::SegmentOutsideFile, i, ph.offset, ph.filesz, bytes_.size()));
        if (ph.align > 1 && !kmem::is_power_of_two(ph.align))
            return kmem::unexpected(error(ElfErrorCode::SegmentAlignmentNotPowerOfTwo, i, 0, ph.align));
        std::uint64_t end = 0;
        if (__builtin_add_overflow(ph.vaddr, ph.memsz, &end))
            return kmem::unexpected(error(ElfErrorCode::SegmentAddressOverflow, i, ph.vaddr, ph.memsz));
        // Only segments that occupy memory have a file prefix of their memory
        // image; e.g. PT_RISCV_ATTRIBUTES has p_filesz > 0 and p_memsz 0.
        if ((ph.type == elf::kPtLoad || ph.type == elf::kPtTls) && ph.filesz > ph.memsz)
            return kmem::unexpected(
                error(ElfErrorCode::SegmentFileSizeExceedsMemorySize, i, ph.offset, ph.filesz, ph.memsz));

        auto unique = [&](std::ptrdiff_t& slot, std::string_view what) -> kmem::Expected<void, ElfError> {
            if (slot >= 0)
                return kmem::unexpected(error(ElfErrorCode::DuplicateSegment, i, 0, 0,
                                              static_cast<std::uint64_t>(slot), what));
            slot = static_cast<std::ptrdiff_t>(i);
            return {};
        };
        switch (ph.type) {
        case elf::kPtLoad: {
            if (ph.align > 1 && (ph.vaddr & (ph.align - 1)) != (ph.offset & (ph.align - 1)))
                return kmem::unexpected(error(ElfErrorCode::SegmentMisaligned, i, ph.offset, ph.vaddr, ph.align));
            // gABI: PT_LOAD entries are sorted by p_vaddr, which makes the
            // overlap check one comparison with the previous segment.
            if (previous_load >= 0 && ph.memsz != 0 && ph.vaddr < previous_end) {
                const ProgramHeader prev = program_header(static_cast<std::size_t>(previous_load));
                const auto code = ph.vaddr >= prev.vaddr || end > prev.vaddr ? ElfErrorCode::SegmentsOverlap
                                                                            : ElfErrorCode::SegmentsOutOfOrder;
                return kmem::unexpected(
                    error(code, i, ph.vaddr, previous_end, static_cast<std::uint64_t>(previous_load)));
            }
            ++load_count_;
            if (ph.memsz == 0) break;
            if (previous_load < 0) image_begin_ = ph.vaddr;
            image_end_ = end;
            previous_load = static_cast<std::ptrdiff_t>(i);
            previous_end = end;
            break;
        }
        case elf::kPtTls: KMEM_TRY(unique(tls_index_, "PT_TLS")); break;
        case elf::kPtGnuRelro: KMEM_TRY(unique(relro_index_, "PT_GNU_RELRO")); break;
        case elf::kPtGnuStack: KMEM_TRY(unique(stack_index_, "PT_GNU_STACK")); break;
        case elf::kPtDynamic: KMEM_TRY(unique(dynamic_index_, "PT_DYNAMIC")); break;
        default: break;
        }
    }
    if (previous_load < 0) return kmem::unexpected(error(ElfErrorCode::NoLoadSegments));
    if (relro_index_ >= 0) {
        // GNU ld rounds the end of PT_GNU_RELRO up to a page, past its
        // PT_LOAD's p_memsz, so only the start is checked.
        const ProgramHeader r = program_header(static_cast<std::size_t>(relro_index_));
        bool inside = false;
        for (const Segment s : load_segments()) inside = inside || s.range().contains(kmem::VirtualAddress(r.vaddr));
        if (!inside && r.memsz != 0)
            return kmem::unexpected(error(ElfErrorCode::RelroOutsideLoad, static_cast<std::size_t>(relro_index_), r.vaddr));
    }
    return {};
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_dynamic() {
    using elf_detail::error;
    if (dynamic_index_ < 0) return {};
    const ProgramHeader ph = program_header(static_cast<std::size_t>(dynamic_index_));
    DynamicInfo d;
    d.present = true;
    struct Tag {
        bool present = false;
        std::uint64_t value = 0;
    };
    Tag rela, relasz, relaent, jmprel, pltrelsz, pltrel, relr, relrsz, relrent, symtab, syment, strtab, strsz, rel;
    const std::uint64_t count = ph.filesz / elf::kDynamicEntrySize;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t tag = read(ph.offset + i * elf::kDynamicEntrySize, 8);
        const std::uint64_t value = read(ph.offset + i * elf::kDynamicEntrySize + 8, 8);
        d.entries = static_cast<std::size_t>(i + 1);
        auto set = [&](Tag& t) { t = {true, value}; };
        switch (tag) {
        case elf::kDtRela: set(rela); break;
        case elf::kDtRelaSz: set(relasz); break;
        case elf::kDtRelaEnt: set(relaent); break;
        case elf::kDtJmpRel: set(jmprel); break;
        case elf::kDtPltRelSz: set(pltrelsz); break;
        case elf::kDtPltRel: set(pltrel); break;
        case elf::kDtRelr: set(relr); break;
        case elf::kDtRelrSz: set(relrsz); break;
        case elf::kDtRelrEnt: set(relrent); break;
        case elf::kDtSymTab: set(symtab); break;
        case elf::kDtSymEnt: set(syment); break;
        case elf::kDtStrTab: set(strtab); break;
        case elf::kDtStrSz: set(strsz); break;
        case elf::kDtRel: set(rel); break;
        case elf::kDtRelaCount: d.rela_count = value; break;
        case elf::kDtFlags: d.flags = value; break;
        case elf::kDtFlags1: d.flags_1 = value; break;
        case elf::kDtTextRel: d.textrel = true; break;
        case elf::kDtBindNow: d.bind_now = true; break;
        case elf::kDtNeeded: ++d.needed; break;
        default: break;
        }
        if (tag == elf::kDtNull) break;
    }

    auto sized_table = [&](Tag address, Tag size, Tag entsize, std::uint64_t want_entsize, std::string_view what,
                           std::string_view size_what, std::string_view ent_what,
                           DynamicTable& out) -> kmem::Expected<void, ElfError> {
        if (!address.present && !size.present) return {};
        if (!address.present || !size.present)
            return kmem::unexpected(error(ElfErrorCode::DynamicMissingTag, 0, 0, 0, 0, address.present ? what : size_what));
        if (entsize.present && entsize.value != want_entsize)
            return kmem::unexpected(error(ElfErrorCode::DynamicBadEntrySize, 0, 0, entsize.value, want_entsize, ent_what));
        if (size.value % want_entsize != 0)
            return kmem::unexpected(error(ElfErrorCode::DynamicBadTableSize, 0, 0, size.value, want_entsize, size_what));
        out = KMEM_TRY(table(address.value, size.value, what));
        return {};
    };
    // Skipping a DT_REL table would leave the image unrelocated without a word.
    if (rel.present) return kmem::unexpected(error(ElfErrorCode::UnsupportedRelTable, 0, rel.value));
    KMEM_TRY(sized_table(rela, relasz, relaent, elf::kRelaEntrySize, "DT_RELA", "DT_RELASZ", "DT_RELAENT", d.rela));
    if (pltrel.present && pltrel.value != elf::kDtRela)
        return kmem::unexpected(error(ElfErrorCode::UnsupportedPltRel, 0, 0, pltrel.value));
    KMEM_TRY(sized_table(jmprel, pltrelsz, Tag{}, elf::kRelaEntrySize, "DT_JMPREL", "DT_PLTRELSZ", "DT_PLTREL",
                         d.jmprel));
    KMEM_TRY(sized_table(relr, relrsz, relrent, elf::kRelrEntrySize, "DT_RELR", "DT_RELRSZ", "DT_RELRENT", d.relr));
    if (strtab.present || strsz.present) {
        if (!strtab.present || !strsz.present)
            return kmem::unexpected(
                error(ElfErrorCode::DynamicMissingTag, 0, 0, 0, 0, strtab.present ? "DT_STRTAB" : "DT_STRSZ"));
        d.strtab = KMEM_TRY(table(strtab.value, strsz.value, "DT_STRTAB"));
    }
    if (symtab.present) {
        if (syment.present && syment.value != elf::kSymbolSize)
            return kmem::unexpected(error(ElfErrorCode::DynamicBadEntrySize, 0, 0, syment.value, elf::kSymbolSize, "DT_SYMENT"));
        d.symtab = KMEM_TRY(table(symtab.value, 0, "DT_SYMTAB"));
        // The symbol count is not in the dynamic table (only in hash tables),
        // so symbols are bounded by the file part of the segment holding them.
        for (std::size_t i = 0; i < phnum_; ++i) {
            const ProgramHeader load = program_header(i);
            if (load.type == elf::kPtLoad && symtab.value >= load.vaddr && symtab.value - load.vaddr <= load.filesz) {
                d.symtab.size = load.filesz - (symtab.value - load.vaddr);
                break;
            }
        }
    }
    dynamic_ = d;
    return {};
}

template <class F>
constexpr kmem::Expected<void, ElfError> ElfFile::rela_table(RelocationSource source, const DynamicTable& t,
                                                             std::uint64_t slide, F& f) const {
    using elf_detail::error;
    const std::string_view what = relocation_source_name(source);
    const std::uint64_t count = t.size / elf::kRelaEntrySize;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t at = t.file_offset + i * elf::kRelaEntrySize;
        const std::uint64_t offset = read(at, 8);
        const std::uint64_t info = read(at + 8, 8);
        const std::uint64_t addend = read(at + 16, 8);
        const auto type = static_cast<std::uint32_t>(info & 0xffffffff);
        const auto symbol = static_cast<std::uint32_t>(info >> 32);
        if (type == elf::kRRiscvNone) continue;
        if (type != elf::kRRiscvRelative && type != elf::kRRiscv64)
            return kmem::unexpected(error(ElfErrorCode::UnsupportedRelocation, i, offset, type, 0, what));
        KMEM_TRY(check_target(source, i, offset, false));
        Relocation r;
        r.source = source;
        r.index = static_cast<std::size_t>(i);
        r.type = type;
        r.symbol = symbol;
        r.target = kmem::VirtualAddress(offset);
        if (type == elf::kRRiscvRelative) {
            r.value = slide + addend;
        } else if (symbol == 0) {
            r.value = addend;  // S is 0 for the null symbol: an absolute value
        } else {
            const std::uint64_t symbols = dynamic_.symtab.present ? dynamic_.symtab.size / elf::kSymbolSize : 0;
            if (symbol >= symbols)
                return kmem::unexpected(error(ElfErrorCode::SymbolOutOfRange, i, offset, symbol, symbols, what));
            const std::uint64_t sym = dynamic_.symtab.file_offset + std::uint64_t{symbol} * elf::kSymbolSize;
            const std::uint64_t name = read(sym, 4);
            const auto shndx = static_cast<std::uint16_t>(read(sym + 6, 2));
            const std::uint64_t value = read(sym + 8, 8);
            if (shndx == elf::kShnUndef) {
                const auto strings = bytes_.subspan(dynamic_.strtab.file_offset, dynamic_.strtab.size);
                const auto text = elf_detail::c_string(strings, name);
                if (!dynamic_.strtab.present || !text.ok)
                    return kmem::unexpected(
                        error(ElfErrorCode::SymbolNameOutOfRange, i, name, symbol, dynamic_.strtab.size, what));
                ElfError e = error(ElfErrorCode::UndefinedSymbol, i, offset, symbol, 0, what);
                elf_detail::set_name(e, text.bytes);
                return kmem::unexpected(e);
            }
            // Absolute symbols do not move with the image.
            r.value = value + addend + (shndx == elf::kShnAbs ? 0 : slide);
        }
        f(static_cast<const Relocation&>(r));
    }
    return {};
}

template <class F>
    requires std::invocable<F&, const Relocation&>
constexpr kmem::Expected<void, ElfError> ElfFile::for_each_relocation(std::uint64_t slide, F&& f) const {
    using elf_detail::error;
    if (dynamic_.rela.present) KMEM_TRY(rela_table(RelocationSource::Rela, dynamic_.rela, slide, f));
    if (jmprel_separate()) KMEM_TRY(rela_table(RelocationSource::JmpRel, dynamic_.jmprel, slide, f));
    if (!dynamic_.relr.present) return {};
    // RELR: an even entry is an address to relocate, and the next address
    // follows it; an odd entry is a bitmap whose bit i+1 (i = 0..62) marks the
    // word i places after that next address, which then advances 63 words.
    const std::uint64_t count = dynamic_.relr.size / elf::kRelrEntrySize;
    std::uint64_t next = 0;
    bool have_base = false;
    auto apply = [&](std::uint64_t i, std::uint64_t target) -> kmem::Expected<void, ElfError> {
        const std::uint64_t at = KMEM_TRY(check_target(RelocationSource::Relr, i, target, true));
        Relocation r;
        r.source = RelocationSource::Relr;
        r.index = static_cast<std::size_t>(i);
        r.type = elf::kRRiscvRelative;
        r.target = kmem::VirtualAddress(target);
        r.value = slide + read(at, 8);  // the addend is stored in place
        f(static_cast<const Relocation&>(r));
        return {};
    };
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t entry = read(dynamic_.relr.file_offset + i * elf::kRelrEntrySize, 8);
        if ((entry & 1) == 0) {
            KMEM_TRY(apply(i, entry));
            next = entry + 8;
            have_base = true;
            continue;
        }
        if (!have_base) return kmem::unexpected(error(ElfErrorCode::RelrBitmapFirst, i, 0, entry));
        for (unsigned bit = 1; bit < 64; ++bit) {
            if (((entry >> bit) & 1) == 0) continue;
            std::uint64_t target = 0;
            if (__builtin_add_overflow(next, std::uint64_t{bit - 1} * 8, &target))
                return kmem::unexpected(error(ElfErrorCode::RelocationTargetUnmapped, i, next, 1, 0, "DT_RELR"));
            KMEM_TRY(apply(i, target));
        }
        next += 63 * 8;
    }
    return {};
}

}  // namespace loader_api
