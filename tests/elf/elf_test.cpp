#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "loader_api/elf.hpp"

using namespace loader_api;
using kmem::VirtualAddress;

namespace {

// A hand-made PIE, 8 KiB, whose every field the tests below know:
//   file 0x0000..0x1000  PT_LOAD R+X  at 0x10000 (ELF header, phdrs, .loader_config at 0x800)
//   file 0x1000..0x2000  PT_LOAD R+W  at 0x11000, memsz 0x2000 (dynamic, RELA, RELR, symbols, data)
constexpr std::size_t kSize = 0x2000;
constexpr std::uint64_t kPh = 64;
constexpr std::uint64_t kSh = 0x1a00;

struct Image {
    std::array<std::byte, kSize> bytes{};

    constexpr void put(std::uint64_t at, std::uint64_t value, unsigned size) {
        for (unsigned i = 0; i < size; ++i) bytes[at + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
    }
    constexpr void text(std::uint64_t at, std::string_view s) {
        for (char c : s) bytes[at++] = static_cast<std::byte>(c);
    }
    constexpr void phdr(unsigned i, std::uint32_t type, std::uint32_t flags, std::uint64_t offset, std::uint64_t vaddr,
                        std::uint64_t filesz, std::uint64_t memsz, std::uint64_t align) {
        const std::uint64_t at = kPh + i * 56;
        put(at, type, 4);
        put(at + 4, flags, 4);
        put(at + 8, offset, 8);
        put(at + 16, vaddr, 8);
        put(at + 24, vaddr, 8);
        put(at + 32, filesz, 8);
        put(at + 40, memsz, 8);
        put(at + 48, align, 8);
    }
    constexpr void field(unsigned phdr_index, unsigned field_offset, std::uint64_t value, unsigned size = 8) {
        put(kPh + phdr_index * 56 + field_offset, value, size);
    }
    constexpr void dyn(unsigned i, std::uint64_t tag, std::uint64_t value) {
        put(0x1000 + i * 16, tag, 8);
        put(0x1000 + i * 16 + 8, value, 8);
    }
    constexpr void rela(unsigned i, std::uint64_t offset, std::uint32_t symbol, std::uint32_t type, std::uint64_t addend) {
        put(0x1100 + i * 24, offset, 8);
        put(0x1100 + i * 24 + 8, (std::uint64_t{symbol} << 32) | type, 8);
        put(0x1100 + i * 24 + 16, addend, 8);
    }
    constexpr void shdr(unsigned i, std::uint32_t name, std::uint32_t type, std::uint64_t addr, std::uint64_t offset,
                        std::uint64_t size) {
        const std::uint64_t at = kSh + i * 64;
        put(at, name, 4);
        put(at + 4, type, 4);
        put(at + 16, addr, 8);
        put(at + 24, offset, 8);
        put(at + 32, size, 8);
    }
    constexpr std::span<const std::byte> span(std::size_t length = kSize) const { return {bytes.data(), length}; }
};

constexpr Image make_image() {
    Image m;
    m.text(0, "\x7f" "ELF");
    m.put(4, 2, 1);   // ELFCLASS64
    m.put(5, 1, 1);   // little-endian
    m.put(6, 1, 1);   // EV_CURRENT
    m.put(16, 3, 2);  // ET_DYN
    m.put(18, 243, 2);
    m.put(20, 1, 4);
    m.put(24, 0x10100, 8);  // entry
    m.put(32, kPh, 8);
    m.put(40, kSh, 8);
    m.put(52, 64, 2);
    m.put(54, 56, 2);
    m.put(56, 6, 2);
    m.put(58, 64, 2);
    m.put(60, 3, 2);
    m.put(62, 2, 2);
    m.phdr(0, elf::kPtLoad, elf::kPfR | elf::kPfX, 0, 0x10000, 0x1000, 0x1000, 0x1000);
    m.phdr(1, elf::kPtLoad, elf::kPfR | elf::kPfW, 0x1000, 0x11000, 0x1000, 0x2000, 0x1000);
    m.phdr(2, elf::kPtDynamic, elf::kPfR | elf::kPfW, 0x1000, 0x11000, 0x100, 0x100, 8);
    m.phdr(3, elf::kPtTls, elf::kPfR, 0x1f00, 0x11f00, 0x10, 0x80, 64);
    m.phdr(4, elf::kPtGnuRelro, elf::kPfR, 0x1000, 0x11000, 0x900, 0x900, 1);
    m.phdr(5, elf::kPtGnuStack, elf::kPfR | elf::kPfW, 0, 0, 0, 0, 16);

    m.dyn(0, elf::kDtRela, 0x11100);
    m.dyn(1, elf::kDtRelaSz, 3 * 24);
    m.dyn(2, elf::kDtRelaEnt, 24);
    m.dyn(3, elf::kDtRelr, 0x11200);
    m.dyn(4, elf::kDtRelrSz, 16);
    m.dyn(5, elf::kDtRelrEnt, 8);
    m.dyn(6, elf::kDtSymTab, 0x11300);
    m.dyn(7, elf::kDtSymEnt, 24);
    m.dyn(8, elf::kDtStrTab, 0x11400);
    m.dyn(9, elf::kDtStrSz, 0x20);
    m.dyn(10, elf::kDtFlags1, elf::kDf1Pie | elf::kDf1Now);
    m.dyn(11, elf::kDtNull, 0);

    m.rela(0, 0x11800, 0, elf::kRRiscvRelative, 0x10010);
    m.rela(1, 0x11808, 1, elf::kRRiscv64, 4);
    m.rela(2, 0x11810, 0, elf::kRRiscvNone, 0);
    // RELR: an address, then a bitmap marking words 0 and 2 after it.
    m.put(0x1200, 0x11820, 8);
    m.put(0x1208, 0b1011, 8);
    m.put(0x1820, 0x10020, 8);
    m.put(0x1828, 0x10028, 8);
    m.put(0x1838, 0x10038, 8);

    // Symbols: 0 null, 1 "good" defined at 0x10400, 2 "undef" undefined.
    m.put(0x1300 + 24 + 0, 1, 4);
    m.put(0x1300 + 24 + 6, 1, 2);
    m.put(0x1300 + 24 + 8, 0x10400, 8);
    m.put(0x1300 + 48 + 0, 6, 4);
    m.text(0x1400, std::string_view("\0good\0undef\0", 12));

    // Sections: null, .loader_config, .shstrtab.
    m.shdr(1, 1, 1, 0x10800, 0x800, 8);
    m.shdr(2, 16, 3, 0, 0x1500, 0x1a);
    m.text(0x1500, std::string_view("\0.loader_config\0.shstrtab\0", 26));
    m.text(0x800, "CONFIG!!");
    return m;
}

constexpr bool relr_count_is_three() {
    const Image m = make_image();
    const auto file = ElfFile::parse(m.span());
    return file && file->relocation_counts().relr_relative == 3 && file->relocation_counts().rela == 3;
}
static_assert(relr_count_is_three());

constexpr std::uint64_t relocation_sum(std::uint64_t slide) {
    const Image m = make_image();
    const auto file = ElfFile::parse(m.span());
    std::uint64_t sum = 0;
    auto result = file->for_each_relocation(slide, [&](const Relocation& r) { sum += r.value - slide; });
    return result ? sum : 0;
}
// Hand-computed from make_image: 0x10010 + (0x10400 + 4) + 0x10020 + 0x10028 + 0x10038.
static_assert(relocation_sum(0x1000) == 0x10010 + 0x10404 + 0x10020 + 0x10028 + 0x10038);

constexpr ElfErrorCode parse_code(const Image& m, std::size_t length = kSize) {
    const auto file = ElfFile::parse(m.span(length));
    return file ? ElfErrorCode::None : file.error().code;
}

std::string message(const ElfError& error) {
    char buffer[512];
    kmem::BufferSink sink(buffer, sizeof buffer);
    error.format(sink);
    return std::string(sink.view());
}

ElfError parse_error(const Image& m, std::size_t length = kSize) {
    const auto file = ElfFile::parse(m.span(length));
    REQUIRE_FALSE(file);
    return file.error();
}

ElfError relocation_error(const Image& m) {
    const auto file = ElfFile::parse(m.span());
    REQUIRE(file);
    const auto result = file->for_each_relocation(0, [](const Relocation&) {});
    REQUIRE_FALSE(result);
    return result.error();
}

std::vector<std::byte> read_file(const char* path) {
    std::vector<std::byte> bytes;
    std::FILE* in = std::fopen(path, "rb");
    REQUIRE_MESSAGE(in != nullptr, "cannot open ", path);
    std::byte buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) bytes.insert(bytes.end(), buffer, buffer + n);
    std::fclose(in);
    return bytes;
}

const char* env_path(const char* name) {
    const char* path = std::getenv(name);
    INFO("environment variable ", std::string(name), " is not set (run through meson test)");
    REQUIRE(path != nullptr);
    return path;
}

}  // namespace

TEST_CASE("the hand-made image parses and its accessors say what it holds") {
    const Image m = make_image();
    const auto parsed = ElfFile::parse(m.span());
    REQUIRE(parsed);
    const ElfFile& file = *parsed;
    CHECK(file.is_pie());
    CHECK(file.entry() == VirtualAddress(0x10100));
    CHECK(file.load_segment_count() == 2);
    CHECK(file.image_range() == kmem::VirtualRange(VirtualAddress(0x10000), VirtualAddress(0x13000)));
    std::vector<Segment> loads;
    for (const Segment s : file.load_segments()) loads.push_back(s);
    REQUIRE(loads.size() == 2);
    CHECK(loads[0].index == 0);
    CHECK((loads[0].readable() && loads[0].executable() && !loads[0].writable()));
    CHECK(loads[1].file_bytes.size() == 0x1000);
    CHECK(loads[1].memsz == 0x2000);
    CHECK(loads[1].file_bytes.data() == m.bytes.data() + 0x1000);
    const auto tls = file.tls();
    REQUIRE(tls.present);
    CHECK(tls.align == 64);
    CHECK(tls.init_image.size() == 0x10);
    CHECK(tls.memsz == 0x80);
    CHECK(file.relro().range == kmem::VirtualRange(VirtualAddress(0x11000), VirtualAddress(0x11900)));
    CHECK(file.stack().present);
    CHECK_FALSE(file.stack().executable());
    CHECK(file.dynamic().now());
    CHECK(file.dynamic().rela.file_offset == 0x1100);
    CHECK(file.check_no_write_execute());
    CHECK(file.check_entry_executable());

    const auto config = file.find_section(".loader_config");
    REQUIRE(config);
    CHECK(config->address == VirtualAddress(0x10800));
    CHECK(config->name() == ".loader_config");
    CHECK(std::memcmp(config->bytes.data(), "CONFIG!!", 8) == 0);
    const auto missing = file.find_section(".nothing");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ElfErrorCode::SectionNotFound);
    CHECK(message(missing.error()) == "elf: no section named \".nothing\"");
}

TEST_CASE("relocations: RELA relative, R_RISCV_64 against a defined symbol, NONE skipped, RELR address and bitmap") {
    const Image m = make_image();
    const auto file = ElfFile::parse(m.span());
    REQUIRE(file);
    constexpr std::uint64_t slide = 0x8000'0000;
    std::vector<Relocation> seen;
    REQUIRE(file->for_each_relocation(slide, [&](const Relocation& r) { seen.push_back(r); }));
    REQUIRE(seen.size() == 5);
    const std::uint64_t targets[] = {0x11800, 0x11808, 0x11820, 0x11828, 0x11838};
    const std::uint64_t values[] = {slide + 0x10010, slide + 0x10404, slide + 0x10020, slide + 0x10028, slide + 0x10038};
    for (std::size_t i = 0; i < 5; ++i) {
        CAPTURE(i);
        CHECK(seen[i].target == VirtualAddress(targets[i]));
        CHECK(seen[i].value == values[i]);
    }
    CHECK(seen[1].type == elf::kRRiscv64);
    CHECK(seen[1].symbol == 1);
    CHECK(seen[2].source == RelocationSource::Relr);
    CHECK(seen[4].index == 1);  // produced by the bitmap entry
}

TEST_CASE("bad identification and header fields are named") {
    struct Case {
        unsigned offset;
        std::uint64_t value;
        unsigned size;
        ElfErrorCode code;
        std::string_view text;
    };
    const Case cases[] = {
        {1, 'X', 1, ElfErrorCode::BadMagic, "bad magic 0x7f 0x58 0x4c 0x46"},
        {4, 1, 1, ElfErrorCode::BadClass, "class 1 at offset 4"},
        {5, 2, 1, ElfErrorCode::BadDataEncoding, "data encoding 2"},
        {6, 0, 1, ElfErrorCode::BadVersion, "version 0 at offset 6"},
        {20, 2, 4, ElfErrorCode::BadVersion, "version 2 at offset 20"},
        {18, 62, 2, ElfErrorCode::BadMachine, "machine 62 is not RISC-V"},
        {16, 1, 2, ElfErrorCode::BadType, "type 1 is neither"},
        {52, 52, 2, ElfErrorCode::BadHeaderSize, "e_ehsize 52"},
        {54, 32, 2, ElfErrorCode::BadProgramHeaderSize, "e_phentsize 32"},
        {32, kSize - 100, 8, ElfErrorCode::ProgramHeadersOutsideFile, "program header table at offset 0x1f9c (6 entries)"},
        {32, ~0ull - 10, 8, ElfErrorCode::ProgramHeadersOutsideFile, "program header table"},
        {58, 40, 2, ElfErrorCode::BadSectionHeaderSize, "e_shentsize 40"},
        {40, kSize - 64, 8, ElfErrorCode::SectionHeadersOutsideFile, "section header table at offset 0x1fc0 (3 entries)"},
        // Wholly past the end, as in a truncated file: the count still comes from e_shnum.
        {40, kSize + 0x100, 8, ElfErrorCode::SectionHeadersOutsideFile, "section header table at offset 0x2100 (3 entries)"},
        {62, 3, 2, ElfErrorCode::BadSectionNameTableIndex, "section name table index 3 is not below the section count 3"},
        {56, 0xffff, 2, ElfErrorCode::NoLoadSegments, "no PT_LOAD"},  // PN_XNUM: the count is section 0's sh_info, 0 here
    };
    for (const Case& c : cases) {
        Image m = make_image();
        m.put(c.offset, c.value, c.size);
        const ElfError e = parse_error(m);
        CAPTURE(message(e));
        CHECK(e.code == c.code);
        CHECK(message(e).find(c.text) != std::string::npos);
    }
}

TEST_CASE("PN_XNUM takes the program header count from section 0") {
    Image m = make_image();
    m.put(56, 0xffff, 2);
    m.put(kSh + 44, 6, 4);
    const auto file = ElfFile::parse(m.span());
    REQUIRE(file);
    CHECK(file->program_header_count() == 6);
    m.put(40, 0, 8);  // no section headers to hold the count
    CHECK(parse_code(m) == ElfErrorCode::ExtendedCountWithoutSections);
}

TEST_CASE("bad segments are named with their index and values") {
    struct Case {
        unsigned phdr;
        unsigned field;  // offset inside the program header
        std::uint64_t value;
        ElfErrorCode code;
        std::string_view text;
    };
    const Case cases[] = {
        {0, 32, 0x3000, ElfErrorCode::SegmentOutsideFile, "segment 0 file range offset 0x0 size 0x3000 runs past the end of the file (0x2000 bytes)"},
        {1, 8, ~0ull - 4, ElfErrorCode::SegmentOutsideFile, "segment 1 file range"},
        {1, 40, 0x800, ElfErrorCode::SegmentFileSizeExceedsMemorySize, "segment 1 p_filesz 0x1000 exceeds p_memsz 0x800"},
        {3, 40, 0x8, ElfErrorCode::SegmentFileSizeExceedsMemorySize, "segment 3 p_filesz 0x10 exceeds p_memsz 0x8"},
        {1, 48, 0x1800, ElfErrorCode::SegmentAlignmentNotPowerOfTwo, "segment 1 p_align 0x1800 is not a power of two"},
        {1, 16, 0x11100, ElfErrorCode::SegmentMisaligned, "segment 1 p_vaddr 0x11100 and p_offset 0x1000 differ modulo p_align 0x1000"},
        {1, 16, 0x10000, ElfErrorCode::SegmentsOverlap, "PT_LOAD segment 1 at 0x10000 overlaps PT_LOAD segment 0 which ends at 0x11000"},
        {1, 16, 0xf000, ElfErrorCode::SegmentsOverlap, "overlaps PT_LOAD segment 0"},
        {1, 16, 0x1000, ElfErrorCode::SegmentsOutOfOrder, "PT_LOAD segment 1 at 0x1000 is below the preceding PT_LOAD segment 0"},
        {1, 16, 0xffff'ffff'ffff'f000, ElfErrorCode::SegmentAddressOverflow, "segment 1 p_vaddr 0xfffffffffffff000 + p_memsz 0x2000 overflows"},
        {4, 0, elf::kPtTls, ElfErrorCode::DuplicateSegment, "segment 4 is a second PT_TLS (the first is segment 3)"},
        {4, 16, 0x40000, ElfErrorCode::RelroOutsideLoad, "segment 4 PT_GNU_RELRO at 0x40000"},
    };
    for (const Case& c : cases) {
        Image m = make_image();
        m.field(c.phdr, c.field, c.value, c.field == 0 ? 4 : 8);
        const ElfError e = parse_error(m);
        CAPTURE(message(e));
        CHECK(e.code == c.code);
        CHECK(message(e).find(c.text) != std::string::npos);
    }
    Image none = make_image();
    none.field(0, 0, elf::kPtNote, 4);
    none.field(1, 0, elf::kPtNote, 4);
    CHECK(parse_code(none) == ElfErrorCode::NoLoadSegments);
}

TEST_CASE("dynamic table addresses must translate into the file part of a PT_LOAD") {
    struct Case {
        unsigned entry;
        std::uint64_t tag;
        std::uint64_t value;
        ElfErrorCode code;
        std::string_view text;
    };
    const Case cases[] = {
        {0, elf::kDtRela, 0x20000, ElfErrorCode::DynamicAddressUnmapped, "DT_RELA address 0x20000 size 0x48 is not inside"},
        {0, elf::kDtRela, 0x12100, ElfErrorCode::DynamicAddressUnmapped, "DT_RELA address 0x12100"},  // in .bss
        {1, elf::kDtRelaSz, 0x1000 * 24, ElfErrorCode::DynamicAddressUnmapped, "size 0x18000"},      // table past the end
        {1, elf::kDtRelaSz, 25, ElfErrorCode::DynamicBadTableSize, "DT_RELASZ 25 is not a multiple of the entry size 24"},
        {2, elf::kDtRelaEnt, 16, ElfErrorCode::DynamicBadEntrySize, "DT_RELAENT 16 is not 24"},
        {1, elf::kDtNeeded, 0, ElfErrorCode::DynamicMissingTag, "has DT_RELA but not"},
        {3, elf::kDtRelr, 0x13ff8, ElfErrorCode::DynamicAddressUnmapped, "DT_RELR address 0x13ff8"},
        {5, elf::kDtRelrEnt, 16, ElfErrorCode::DynamicBadEntrySize, "DT_RELRENT 16 is not 8"},
        {6, elf::kDtSymTab, 0x9000, ElfErrorCode::DynamicAddressUnmapped, "DT_SYMTAB address 0x9000"},
        {8, elf::kDtStrTab, 0x11ff0, ElfErrorCode::DynamicAddressUnmapped, "DT_STRTAB address 0x11ff0 size 0x20"},
        {10, elf::kDtPltRel, elf::kDtRel, ElfErrorCode::UnsupportedPltRel, "DT_PLTREL 17 is not DT_RELA"},
        {10, elf::kDtRel, 0x11100, ElfErrorCode::UnsupportedRelTable, "DT_REL table at 0x11100"},
    };
    for (const Case& c : cases) {
        Image m = make_image();
        m.dyn(c.entry, c.tag, c.value);
        const ElfError e = parse_error(m);
        CAPTURE(message(e));
        CHECK(e.code == c.code);
        CHECK(message(e).find(c.text) != std::string::npos);
    }
}

TEST_CASE("relocation errors name the relocation, its type and the symbol") {
    {
        Image m = make_image();
        m.rela(2, 0x11810, 0, elf::kRRiscvJumpSlot, 0);
        const ElfError e = relocation_error(m);
        CHECK(e.code == ElfErrorCode::UnsupportedRelocation);
        CHECK(message(e) == "elf: unsupported relocation type 5 (R_RISCV_JUMP_SLOT) at DT_RELA index 2, target 0x11810");
    }
    {
        Image m = make_image();
        m.rela(0, 0x11800, 0, 200, 0);
        CHECK(message(relocation_error(m)) == "elf: unsupported relocation type 200 at DT_RELA index 0, target 0x11800");
    }
    {
        Image m = make_image();
        m.rela(1, 0x11808, 2, elf::kRRiscv64, 0);
        const ElfError e = relocation_error(m);
        CHECK(e.code == ElfErrorCode::UndefinedSymbol);
        CHECK(e.name_view() == "undef");
        CHECK(message(e) == "elf: DT_RELA relocation 1 (R_RISCV_64 at 0x11808) refers to undefined symbol \"undef\" (index 2)");
    }
    {
        Image m = make_image();
        m.rela(1, 0x11808, 100000, elf::kRRiscv64, 0);
        CHECK(relocation_error(m).code == ElfErrorCode::SymbolOutOfRange);
    }
    {
        Image m = make_image();
        m.rela(1, 0x11808, 2, elf::kRRiscv64, 0);
        m.put(0x1300 + 48, 0x40, 4);  // name offset past DT_STRSZ
        CHECK(relocation_error(m).code == ElfErrorCode::SymbolNameOutOfRange);
    }
    {
        Image m = make_image();
        m.rela(0, 0x30000, 0, elf::kRRiscvRelative, 0);
        const ElfError e = relocation_error(m);
        CHECK(e.code == ElfErrorCode::RelocationTargetUnmapped);
        CHECK(message(e) == "elf: DT_RELA relocation 0 target 0x30000 (8 bytes) is not inside a PT_LOAD segment");
    }
    {
        Image m = make_image();
        m.rela(0, 0x12ffc, 0, elf::kRRiscvRelative, 0);  // straddles the end of the segment
        CHECK(relocation_error(m).code == ElfErrorCode::RelocationTargetUnmapped);
    }
    {
        Image m = make_image();
        m.put(0x1200, 0x12800, 8);  // RELR in .bss: no addend to read
        CHECK(message(relocation_error(m)).find("DT_RELR relocation 0 target 0x12800 (8 bytes) is not inside the file part") !=
              std::string::npos);
    }
    {
        Image m = make_image();
        m.put(0x1200, 0b11, 8);
        CHECK(relocation_error(m).code == ElfErrorCode::RelrBitmapFirst);
    }
    {
        Image m = make_image();
        m.put(0x1200, 0x11ff8, 8);
        m.put(0x1208, ~0ull, 8);  // bitmap reaching past the file part of the segment
        CHECK(relocation_error(m).code == ElfErrorCode::RelocationTargetUnmapped);
    }
}

TEST_CASE("W+X segments are reported by index") {
    Image m = make_image();
    m.field(0, 4, elf::kPfR | elf::kPfW | elf::kPfX, 4);
    const auto file = ElfFile::parse(m.span());
    REQUIRE(file);
    CHECK(file->segment(0).write_execute());
    const auto result = file->check_no_write_execute();
    REQUIRE_FALSE(result);
    CHECK(message(result.error()) == "elf: PT_LOAD segment 0 at 0x10000 size 0x1000 is both writable and executable");
    Image n = make_image();
    n.put(24, 0x11000, 8);
    CHECK_FALSE(ElfFile::parse(n.span())->check_entry_executable());
}

TEST_CASE("bad sections are named") {
    {
        Image m = make_image();
        m.shdr(1, 1, 1, 0x10800, 0x1f00, 0x200);
        CHECK(message(parse_error(m)) == "elf: section 1 at offset 0x1f00 size 0x200 runs past the end of the file (0x2000 bytes)");
    }
    {
        Image m = make_image();
        m.shdr(1, 0x30, 1, 0x10800, 0x800, 8);
        CHECK(parse_code(m) == ElfErrorCode::SectionNameOutOfRange);
    }
    {
        // Found by fuzz_elf: a name table of type SHT_NULL escaped the range check.
        Image m = make_image();
        m.shdr(2, 16, elf::kShtNull, 0, 0x5220'5f71'6e61, 0x1a);
        const ElfError e = parse_error(m);
        CHECK(e.code == ElfErrorCode::SectionOutsideFile);
        CHECK(e.index == 2);
    }
    {
        Image m = make_image();
        m.shdr(1, 0, elf::kShtNobits, 0x10800, 0x7000, 0x9000);  // NOBITS may lie beyond the file
        CHECK(parse_code(m) == ElfErrorCode::None);
    }
}

TEST_CASE("every truncation of the hand-made image is an error") {
    const Image m = make_image();
    for (std::size_t length = 0; length < kSize; length += length < 600 ? 1 : 7) {
        CAPTURE(length);
        const ElfError e = parse_error(m, length);
        CHECK(e.code != ElfErrorCode::None);
        CHECK(message(e).size() > 5);
    }
    CHECK(parse_code(m, 63) == ElfErrorCode::Truncated);
}

namespace {

// Lays the PT_LOAD segments out at their address + slide in a buffer, applies
// every relocation, and returns the buffer (index 0 = image start + slide).
std::vector<std::byte> load(const ElfFile& file, std::uint64_t slide) {
    const auto range = file.image_range();
    std::vector<std::byte> memory(range.size());
    for (const Segment s : file.load_segments())
        std::memcpy(memory.data() + (s.vaddr - range.begin()), s.file_bytes.data(), s.file_bytes.size());
    const auto applied = file.for_each_relocation(slide, [&](const Relocation& r) {
        REQUIRE(range.contains(r.target));
        REQUIRE(r.target.value() + 8 <= range.end().value());
        for (int i = 0; i < 8; ++i)
            memory[r.target - range.begin() + i] = static_cast<std::byte>((r.value >> (8 * i)) & 0xff);
    });
    REQUIRE(applied);
    return memory;
}

std::uint64_t word_at(const std::vector<std::byte>& memory, std::uint64_t offset) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= std::to_integer<std::uint64_t>(memory.at(offset + i)) << (8 * i);
    return value;
}

std::uint64_t find_word(std::span<const std::byte> bytes, std::uint64_t word) {
    for (std::uint64_t i = 0; i + 8 <= bytes.size(); ++i) {
        std::uint64_t value = 0;
        for (int j = 0; j < 8; ++j) value |= std::to_integer<std::uint64_t>(bytes[i + j]) << (8 * j);
        if (value == word) return i;
    }
    return ~0ull;
}

void check_common_image(const ElfFile& file) {
    const auto tls = file.tls();
    REQUIRE(tls.present);
    CHECK(tls.align == 64);
    CHECK(tls.memsz >= 64 + 8 + 8 + 4);  // the block, the aligned word, counter, zeroed
    const std::uint64_t counter = find_word(tls.init_image, 0x1122334455667788);
    const std::uint64_t aligned = find_word(tls.init_image, 0xa5a5a5a5a5a5a5a5);
    CHECK(counter != ~0ull);
    REQUIRE(aligned != ~0ull);
    CHECK(aligned % 64 == 0);
    CHECK(tls.init_image.size() < tls.memsz);  // .tbss follows .tdata

    const auto config = file.find_section(".loader_config");
    REQUIRE(config);
    const unsigned char expected[16] = {'L', 'C', 'F', 'G', 1, 0, 0, 0, 16, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    REQUIRE(config->bytes.size() == 16);
    CHECK(std::memcmp(config->bytes.data(), expected, 16) == 0);
    CHECK(file.image_range().contains(config->address));

    CHECK(file.relro().present);
    CHECK(file.stack().present);
    CHECK_FALSE(file.stack().executable());
    CHECK(file.check_no_write_execute());
    CHECK(file.check_entry_executable());
    for (const Segment s : file.load_segments()) CHECK_FALSE(s.write_execute());
}

void check_truncations(std::span<const std::byte> bytes) {
    for (std::size_t length = 0; length < bytes.size(); length += length < 700 ? 1 : 13) {
        CAPTURE(length);
        CHECK_FALSE(ElfFile::parse(bytes.first(length)));
    }
}

}  // namespace

TEST_CASE("PIE built by the cross compiler: TLS, RELRO, .loader_config, relocations") {
    const auto bytes = read_file(env_path("ELF_IMAGE_PIE"));
    const auto parsed = ElfFile::parse(bytes);
    REQUIRE(parsed);
    const ElfFile& file = *parsed;
    CHECK(file.is_pie());
    check_common_image(file);
    CHECK(file.dynamic().now());
    const auto counts = file.relocation_counts();
    // function_table (3 pointers) + name_table (2): five relative relocations,
    // as RELA (GNU ld, plus its R_RISCV_NONE padding) or RELR (lld).
    std::vector<Relocation> relocations;
    REQUIRE(file.for_each_relocation(0, [&](const Relocation& r) { relocations.push_back(r); }));
    CHECK(relocations.size() == 5);
    CHECK(counts.rela + counts.relr_relative >= 5);
    const auto relro = file.relro();
    for (const Relocation& r : relocations) {
        CHECK(r.type == elf::kRRiscvRelative);
        CHECK(relro.range.contains(r.target));  // the pointer tables are RELRO
    }

    // Loaded at a slide, the tables point at the slid code and strings.
    constexpr std::uint64_t slide = 0x4000'0000;
    const auto memory = load(file, slide);
    const std::uint64_t base = file.image_range().begin().value();
    std::vector<std::uint64_t> words;
    for (const Relocation& r : relocations) words.push_back(word_at(memory, r.target.value() - base));
    std::uint64_t code = 0, strings = 0;
    for (const std::uint64_t w : words) {
        REQUIRE(w >= slide);
        const VirtualAddress unslid(w - slide);
        REQUIRE(file.image_range().contains(unslid));
        const auto at = unslid - file.image_range().begin();
        auto is = [&](std::string_view text) {
            return at + text.size() + 1 <= memory.size() &&
                   std::memcmp(memory.data() + at, text.data(), text.size() + 1) == 0;
        };
        if (is("first") || is("second")) {
            ++strings;
            continue;
        }
        for (const Segment s : file.load_segments())
            if (s.executable() && s.range().contains(unslid)) ++code;
    }
    CHECK(code == 3);
    CHECK(strings == 2);
    check_truncations(bytes);
}

TEST_CASE("non-PIE built by the cross compiler") {
    const auto bytes = read_file(env_path("ELF_IMAGE_STATIC"));
    const auto parsed = ElfFile::parse(bytes);
    REQUIRE(parsed);
    CHECK_FALSE(parsed->is_pie());
    CHECK_FALSE(parsed->dynamic().present);
    check_common_image(*parsed);
    int count = 0;
    REQUIRE(parsed->for_each_relocation(0x1000, [&](const Relocation&) { ++count; }));
    CHECK(count == 0);
    check_truncations(bytes);
}

TEST_CASE("shared object built by the cross compiler: R_RISCV_64 against its own symbols") {
    const auto bytes = read_file(env_path("ELF_IMAGE_SHARED"));
    const auto parsed = ElfFile::parse(bytes);
    REQUIRE(parsed);
    int symbolic = 0;
    REQUIRE(parsed->for_each_relocation(0x10000, [&](const Relocation& r) {
        if (r.type == elf::kRRiscv64) {
            ++symbolic;
            CHECK(r.symbol != 0);
            CHECK(parsed->image_range().contains(VirtualAddress(r.value - 0x10000)));
        }
    }));
    CHECK(symbolic >= 3);  // exported_table[2], data_pointer, data_pointer_plus
}

TEST_CASE("Debian's riscv64 shared objects parse and name their first unsupported relocation") {
    std::string list = env_path("ELF_DEBIAN_LIBS");
    std::size_t files = 0;
    for (std::size_t start = 0; start < list.size();) {
        std::size_t end = list.find(':', start);
        if (end == std::string::npos) end = list.size();
        const std::string path = list.substr(start, end - start);
        start = end + 1;
        CAPTURE(path);
        const auto bytes = read_file(path.c_str());
        const auto parsed = ElfFile::parse(bytes);
        REQUIRE(parsed);
        ++files;
        CHECK(parsed->is_pie());
        CHECK(parsed->check_no_write_execute());
        const auto result = parsed->for_each_relocation(0, [](const Relocation&) {});
        REQUIRE_FALSE(result);
        CHECK((result.error().code == ElfErrorCode::UnsupportedRelocation ||
               result.error().code == ElfErrorCode::UndefinedSymbol));
        // A few prefixes only: these files are large.
        for (std::size_t length : {std::size_t{0}, std::size_t{63}, std::size_t{64}, std::size_t{100}, std::size_t{1000},
                                   bytes.size() / 2, bytes.size() - 1})
            CHECK_FALSE(ElfFile::parse(std::span(bytes).first(length)));
    }
    CHECK(files >= 3);
}
