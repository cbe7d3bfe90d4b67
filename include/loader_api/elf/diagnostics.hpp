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

    // The messages in ElfErrorCode's order, their values as fields
    // (kmem::print_fields).
    static constexpr char kTextData[] =
        // None
        "no error\0"
        // Truncated
        "file of {value} bytes is shorter than the ELF header ({limit} bytes)\0"
        // BadMagic
        "bad magic{magic} at offset 0 (want 0x7f 0x45 0x4c 0x46)\0"
        // BadClass
        "class {value} at offset 4 is not ELFCLASS64 (2)\0"
        // BadDataEncoding
        "data encoding {value} at offset 5 is not little-endian (1)\0"
        // BadVersion
        "version {value} at offset {offset} is not EV_CURRENT (1)\0"
        // BadMachine
        "machine {value} is not RISC-V (243)\0"
        // BadType
        "type {value} is neither ET_EXEC (2) nor ET_DYN (3)\0"
        // BadHeaderSize
        "e_ehsize {value} is not 64\0"
        // BadProgramHeaderSize
        "e_phentsize {value} is not 56\0"
        // ProgramHeadersOutsideFile
        "program header table at offset {offset:hex} ({value} entries) runs past the end of the file "
        "({limit:hex} bytes)\0"
        // ExtendedCountWithoutSections
        "e_phnum is PN_XNUM (0xffff) but there is no section header 0 to hold the count\0"
        // BadSectionHeaderSize
        "e_shentsize {value} is not 64\0"
        // SectionHeadersOutsideFile
        "section header table at offset {offset:hex} ({value} entries) runs past the end of the file "
        "({limit:hex} bytes)\0"
        // BadSectionNameTableIndex
        "section name table index {value} is not below the section count {limit}\0"
        // SectionOutsideFile
        "section {index} at offset {offset:hex} size {value:hex} runs past the end of the file ({limit:hex} "
        "bytes)\0"
        // SectionNameOutOfRange
        "section {index} name offset {value:hex} is not a terminated string inside the section name table "
        "({limit:hex} bytes)\0"
        // SegmentOutsideFile
        "segment {index} file range offset {offset:hex} size {value:hex} runs past the end of the file "
        "({limit:hex} bytes)\0"
        // SegmentFileSizeExceedsMemorySize
        "segment {index} p_filesz {value:hex} exceeds p_memsz {limit:hex}\0"
        // SegmentAlignmentNotPowerOfTwo
        "segment {index} p_align {value:hex} is not a power of two\0"
        // SegmentMisaligned
        "segment {index} p_vaddr {value:hex} and p_offset {offset:hex} differ modulo p_align {limit:hex}\0"
        // SegmentAddressOverflow
        "segment {index} p_vaddr {offset:hex} + p_memsz {value:hex} overflows the address space\0"
        // SegmentsOverlap
        "PT_LOAD segment {index} at {offset:hex} overlaps PT_LOAD segment {limit} which ends at {value:hex}\0"
        // SegmentsOutOfOrder
        "PT_LOAD segment {index} at {offset:hex} is below the preceding PT_LOAD segment {limit} which ends "
        "at {value:hex}\0"
        // DuplicateSegment
        "segment {index} is a second {what} (the first is segment {limit})\0"
        // NoLoadSegments
        "no PT_LOAD segment with a non-zero p_memsz\0"
        // RelroOutsideLoad
        "segment {index} PT_GNU_RELRO at {offset:hex} does not start inside a PT_LOAD segment\0"
        // DynamicMissingTag
        "dynamic table has {what} but not its companion tag\0"
        // DynamicBadEntrySize
        "dynamic entry size {what} {value} is not {limit}\0"
        // DynamicBadTableSize
        "dynamic table size {what} {value} is not a multiple of the entry size {limit}\0"
        // DynamicAddressUnmapped
        "{what} address {offset:hex} size {value:hex} is not inside the file part of one PT_LOAD segment\0"
        // UnsupportedPltRel
        "DT_PLTREL {value} is not DT_RELA (7)\0"
        // UnsupportedRelTable
        "DT_REL table at {offset:hex}: relocations without addends are not used on RISC-V and not supported\0"
        // UnsupportedRelocation
        "unsupported relocation type {value}{type_name} at {what} index {index}, target {offset:hex}\0"
        // RelocationTargetUnmapped
        "{what} relocation {index} target {offset:hex} (8 bytes) is not inside {in_file}a PT_LOAD segment\0"
        // RelrBitmapFirst
        "DT_RELR entry {index} is a bitmap {value:hex} with no address entry before it\0"
        // SymbolOutOfRange
        "{what} relocation {index} names symbol {value} outside the symbol table ({limit} symbols fit)\0"
        // SymbolNameOutOfRange
        "{what} relocation {index}: symbol {value} name offset {offset:hex} is not a terminated string "
        "inside DT_STRTAB ({limit} bytes)\0"
        // UndefinedSymbol
        "{what} relocation {index} (R_RISCV_64 at {offset:hex}) refers to undefined symbol {name} (index "
        "{value})\0"
        // SectionNotFound
        "no section named {name}\0"
        // WriteExecute
        "PT_LOAD segment {index} at {offset:hex} size {value:hex} is both writable and executable\0"
        // EntryNotExecutable
        "entry point {offset:hex} is not inside an executable PT_LOAD segment\0";
    static constexpr std::string_view kTexts{kTextData, sizeof kTextData - 1};
    enum Field : std::size_t { kIndex, kOffset, kValue, kLimit, kWhat, kName, kMagic, kTypeName, kInFile };
    static constexpr std::string_view kFields[] = {"index", "offset", "value",     "limit",  "what",
                                                   "name",  "magic",  "type_name", "in_file"};

    static constexpr std::string_view text(ElfErrorCode code) {
        return kmem::nth_text(kTexts, static_cast<std::size_t>(code));
    }

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "elf: ");
        kmem::print_fields(sink, text(code), kFields, *this, [](auto& out, const ElfError& self, std::size_t field,
                                                                  kmem::FieldStyle style) {
            switch (field) {
            case kIndex: kmem::print_number(out, self.index, style); break;
            case kOffset: kmem::print_number(out, self.offset, style); break;
            case kValue: kmem::print_number(out, self.value, style); break;
            case kLimit: kmem::print_number(out, self.limit, style); break;
            case kWhat: kmem::print(out, self.what); break;
            case kName: kmem::print(out, '"', self.name_view(), self.name_truncated ? "...\"" : "\""); break;
            case kMagic:
                for (int i = 0; i < 4; ++i) kmem::print(out, ' ', kmem::hex((self.value >> (8 * i)) & 0xff, 2));
                break;
            case kTypeName:
                if (const std::string_view type = elf::relocation_type_name(static_cast<std::uint32_t>(self.value));
                    !type.empty())
                    kmem::print(out, " (", type, ')');
                break;
            case kInFile:
                if (self.value != 0) kmem::print(out, "the file part of ");
                break;
            }
        });
    }
};

static_assert(kmem::text_count(ElfError::kTexts) == static_cast<std::size_t>(ElfErrorCode::EntryNotExecutable) + 1,
              "one ElfError text per code");
static_assert([] {
    for (std::size_t code = 0; code < kmem::text_count(ElfError::kTexts); ++code)
        if (!kmem::fields_known(kmem::nth_text(ElfError::kTexts, code), ElfError::kFields)) return false;
    return true;
}(), "an ElfError text names a field format() does not know");

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
