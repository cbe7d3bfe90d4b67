#pragma once
// Dynamic relocations: ElfFile::for_each_relocation() walks DT_RELA,
// DT_JMPREL and DT_RELR and says what to write where for a load slide,
// checking each entry as it goes (what is valid depends on the slide and on
// the symbol table, which parse() only bounds). elf/reader.hpp declares the
// members and includes this header, so either header gives the whole reader.
//
// References: RISC-V ELF psABI (R_RISCV_RELATIVE, R_RISCV_64), the SHT_RELR
// proposal (generic-abi thread, 2018) for the compact relative format.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/expected.hpp"
#include "loader_api/elf/constants.hpp"
#include "loader_api/elf/diagnostics.hpp"
#include "loader_api/elf/layout.hpp"
#include "loader_api/elf/reader.hpp"

namespace loader_api {

template <class F>
constexpr kmem::Expected<void, ElfError> ElfFile::rela_table(RelocationSource source, const DynamicTable& t,
                                                             std::uint64_t slide, F& f) const {
    using elf_detail::fail;
    const std::string_view what = relocation_source_name(source);
    const std::uint64_t count = t.size / elf::kRelaEntrySize;
    LoadWindow window;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t at = t.file_offset + i * elf::kRelaEntrySize;
        const std::uint64_t offset = read(at, 8);
        const std::uint64_t info = read(at + 8, 8);
        const std::uint64_t addend = read(at + 16, 8);
        const auto type = static_cast<std::uint32_t>(info & 0xffffffff);
        const auto symbol = static_cast<std::uint32_t>(info >> 32);
        if (type == elf::kRRiscvNone) continue;
        if (type != elf::kRRiscvRelative && type != elf::kRRiscv64)
            return fail(ElfErrorCode::UnsupportedRelocation, i, offset, type, 0, what);
        if (target_offset(offset, false, window) == kNoOffset) return target_unmapped(source, i, offset, false);
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
                return fail(ElfErrorCode::SymbolOutOfRange, i, offset, symbol, symbols, what);
            const std::uint64_t sym = dynamic_.symtab.file_offset + std::uint64_t{symbol} * elf::kSymbolSize;
            const std::uint64_t name = read(sym, 4);
            const auto shndx = static_cast<std::uint16_t>(read(sym + 6, 2));
            const std::uint64_t value = read(sym + 8, 8);
            if (shndx == elf::kShnUndef) {
                const auto strings = bytes_.subspan(dynamic_.strtab.file_offset, dynamic_.strtab.size);
                const auto text = elf_detail::c_string(strings, name);
                if (!dynamic_.strtab.present || !text.ok)
                    return fail(ElfErrorCode::SymbolNameOutOfRange, i, name, symbol, dynamic_.strtab.size, what);
                return elf_detail::fail_named(text.bytes, ElfErrorCode::UndefinedSymbol, i, offset, symbol, 0, what);
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
    using elf_detail::fail;
    if (dynamic_.rela.present) {
        if (auto rela = rela_table(RelocationSource::Rela, dynamic_.rela, slide, f); !rela)
            return elf_detail::pass(rela.error());
    }
    if (jmprel_separate()) {
        if (auto jmprel = rela_table(RelocationSource::JmpRel, dynamic_.jmprel, slide, f); !jmprel)
            return elf_detail::pass(jmprel.error());
    }
    if (!dynamic_.relr.present) return {};
    // RELR: an even entry is an address to relocate, and the next address
    // follows it; an odd entry is a bitmap whose bit i+1 (i = 0..62) marks the
    // word i places after that next address, which then advances 63 words.
    // Both kinds become a base and a bitmap of words after it (an address is
    // the bitmap 1), so that the callback is inlined at one place.
    const std::uint64_t count = dynamic_.relr.size / elf::kRelrEntrySize;
    std::uint64_t next = 0;
    bool have_base = false;
    LoadWindow window;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t entry = read(dynamic_.relr.file_offset + i * elf::kRelrEntrySize, 8);
        std::uint64_t base = entry;
        std::uint64_t words = 1;
        if ((entry & 1) == 0) {
            next = entry + 8;
            have_base = true;
        } else {
            if (!have_base) return fail(ElfErrorCode::RelrBitmapFirst, i, 0, entry);
            base = next;
            words = entry >> 1;
            next += 63 * 8;
        }
        for (std::uint64_t word = 0; words != 0; ++word, words >>= 1) {
            if ((words & 1) == 0) continue;
            std::uint64_t target = 0;
            if (__builtin_add_overflow(base, word * 8, &target))
                return fail(ElfErrorCode::RelocationTargetUnmapped, i, base, 1, 0, "DT_RELR");
            const std::uint64_t at = target_offset(target, true, window);
            if (at == kNoOffset) return target_unmapped(RelocationSource::Relr, i, target, true);
            Relocation r;
            r.source = RelocationSource::Relr;
            r.index = static_cast<std::size_t>(i);
            r.type = elf::kRRiscvRelative;
            r.target = kmem::VirtualAddress(target);
            r.value = slide + read(at, 8);  // the addend is stored in place
            f(static_cast<const Relocation&>(r));
        }
    }
    return {};
}

}  // namespace loader_api
