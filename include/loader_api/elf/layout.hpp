#pragma once
// The parts of an ELF file as the reader hands them out: program headers,
// the segments the loader maps (PT_LOAD, PT_TLS, PT_GNU_RELRO,
// PT_GNU_STACK), the dynamic tables, sections and relocations. Plain values
// that point into the file's bytes; ElfFile (elf/reader.hpp) makes them.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/range.hpp"
#include "loader_api/elf/constants.hpp"

namespace loader_api {

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
// Elf64_Phdr's layout, which ElfFile::program_header() copies at run time.
static_assert(sizeof(ProgramHeader) == elf::kProgramHeaderSize && offsetof(ProgramHeader, flags) == 4 &&
              offsetof(ProgramHeader, offset) == 8 && offsetof(ProgramHeader, align) == 48);

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

}  // namespace loader_api
