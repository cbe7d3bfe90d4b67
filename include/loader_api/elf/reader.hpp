#pragma once
// A bounds-checked ELF64 reader over untrusted bytes: RISC-V, little-endian,
// EXEC or DYN. Nothing is allocated and nothing is trusted: parse() checks
// every header, segment, section and dynamic table once, so that the
// accessors afterwards cannot read outside the bytes. Relocations are checked
// as they are iterated, because what to write depends on the load slide;
// that iteration is defined in elf/relocation.hpp, which this header includes
// at its end so that every user of ElfFile can call for_each_relocation().

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "kmem/address.hpp"
#include "kmem/assert.hpp"
#include "kmem/expected.hpp"
#include "kmem/range.hpp"
#include "loader_api/elf/constants.hpp"
#include "loader_api/elf/diagnostics.hpp"
#include "loader_api/elf/layout.hpp"

namespace loader_api {

namespace elf_detail {

// Unaligned-safe: the bytes may lie at any offset of the file. A compiler
// for a target whose unaligned loads may trap (RISC-V: M-mode emulates them)
// builds an unaligned memcpy from byte loads, 22 instructions for 8 bytes;
// ELF fields are naturally aligned in a file that is, so that case gets one.
// U is an integer, or a struct with the layout of an ELF record. The byte
// loads are out of line: they are the rare case, and inlined at each of the
// reader's field reads they were most of its size.
template <class U>
[[gnu::noinline, gnu::cold]] U load_unaligned(const std::byte* at) {
    U value;
    __builtin_memcpy(&value, at, sizeof value);
    return value;
}
template <class U>
U load_native(const std::byte* at) {
    if (reinterpret_cast<std::uintptr_t>(at) % alignof(U) != 0) return load_unaligned<U>(at);
    U value;
    __builtin_memcpy(&value, __builtin_assume_aligned(at, alignof(U)), sizeof value);
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
    [[gnu::noinline]] constexpr ProgramHeader program_header(std::size_t index) const {
        KMEM_ASSERT(index < phnum_);
        const std::uint64_t at = phoff_ + index * elf::kProgramHeaderSize;
        // ProgramHeader has Elf64_Phdr's layout: at run time on a
        // little-endian machine, one copy rather than eight reads that each
        // test their alignment (the reader scans the headers often).
        if (!std::is_constant_evaluated() && std::endian::native == std::endian::little)
            return elf_detail::load_native<ProgramHeader>(bytes_.data() + at);
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
        const std::uint64_t offset = mapped_offset(vaddr, size);
        if (offset == kNoOffset)
            return elf_detail::fail<std::uint64_t>(ElfErrorCode::DynamicAddressUnmapped, 0, vaddr, size, 0, what);
        return offset;
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
        return elf_detail::fail_named<Section>(name, ElfErrorCode::SectionNotFound);
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
                return elf_detail::fail(ElfErrorCode::WriteExecute, s.index, s.vaddr.value(), s.memsz);
        return {};
    }

    constexpr kmem::Expected<void, ElfError> check_entry_executable() const {
        for (const Segment s : load_segments())
            if (s.executable() && s.range().contains(entry())) return {};
        return elf_detail::fail(ElfErrorCode::EntryNotExecutable, 0, entry_);
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
    // file_offset_of() without the error; kNoOffset when unmapped.
    constexpr std::uint64_t mapped_offset(std::uint64_t vaddr, std::uint64_t size) const {
        for (std::size_t i = 0; i < phnum_; ++i) {
            const ProgramHeader ph = program_header(i);
            if (ph.type != elf::kPtLoad || vaddr < ph.vaddr) continue;
            if (elf_detail::fits(vaddr - ph.vaddr, size, ph.filesz)) return ph.offset + (vaddr - ph.vaddr);
        }
        return kNoOffset;
    }
    constexpr kmem::Expected<void, ElfError> table(std::uint64_t vaddr, std::uint64_t size, std::string_view what,
                                                   DynamicTable& out) const {
        const std::uint64_t offset = mapped_offset(vaddr, size);
        if (offset == kNoOffset) return elf_detail::fail(ElfErrorCode::DynamicAddressUnmapped, 0, vaddr, size, 0, what);
        out.present = true;
        out.vaddr = vaddr;
        out.size = size;
        out.file_offset = offset;
        return {};
    }

    // Where a relocation writes must be inside a PT_LOAD; RELR also reads its
    // addend there, so it must be file-backed. PT_LOADs do not overlap
    // (parse() checked), so at most one holds a target, and consecutive
    // targets mostly lie in the same one: the last one found is asked first,
    // and the program headers (8 fields read per header) are scanned only
    // when it does not hold the target. That scan per relocation was 420
    // guest instructions, most of the kernel's relocation time (issue 13).
    struct LoadWindow {
        std::uint64_t vaddr = 0;
        std::uint64_t file_size = 0;
        std::uint64_t memory_size = 0;  // 0: no segment yet, holds nothing
        std::uint64_t offset = 0;
        constexpr bool holds(std::uint64_t target) const {
            return target >= vaddr && elf_detail::fits(target - vaddr, 8, memory_size);
        }
    };
    static constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};  // no 8 bytes at a file offset can start there
    // The file offset of the 8 bytes at `target`, or kNoOffset.
    constexpr std::uint64_t target_offset(std::uint64_t target, bool need_file, LoadWindow& window) const {
        if (!window.holds(target)) {
            window = {};
            for (std::size_t i = 0; i < phnum_; ++i) {
                const ProgramHeader ph = program_header(i);
                const LoadWindow candidate{ph.vaddr, ph.filesz, ph.memsz, ph.offset};
                if (ph.type == elf::kPtLoad && candidate.holds(target)) {
                    window = candidate;
                    break;
                }
            }
            if (!window.holds(target)) return kNoOffset;
        }
        if (need_file && !elf_detail::fits(target - window.vaddr, 8, window.file_size)) return kNoOffset;
        return window.offset + (target - window.vaddr);
    }
    [[gnu::noinline, gnu::cold]] static constexpr kmem::Expected<void, ElfError> target_unmapped(
        RelocationSource source, std::size_t index, std::uint64_t target, bool need_file) {
        return elf_detail::fail(ElfErrorCode::RelocationTargetUnmapped, index, target, need_file ? 1 : 0, 0,
                                relocation_source_name(source));
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
    using elf_detail::fail;
    if (bytes.size() < elf::kHeaderSize)
        return fail<ElfFile>(ElfErrorCode::Truncated, 0, 0, bytes.size(), elf::kHeaderSize);
    ElfFile file;
    file.bytes_ = bytes;
    const std::uint64_t magic = file.read(0, 4);
    if (magic != 0x464c457f) return fail<ElfFile>(ElfErrorCode::BadMagic, 0, 0, magic);
    if (const auto c = file.read(4, 1); c != elf::kClass64) return fail<ElfFile>(ElfErrorCode::BadClass, 0, 4, c);
    if (const auto d = file.read(5, 1); d != elf::kDataLittleEndian)
        return fail<ElfFile>(ElfErrorCode::BadDataEncoding, 0, 5, d);
    if (const auto v = file.read(6, 1); v != elf::kVersionCurrent)
        return fail<ElfFile>(ElfErrorCode::BadVersion, 0, 6, v);
    if (const auto m = file.read(18, 2); m != elf::kMachineRiscv)
        return fail<ElfFile>(ElfErrorCode::BadMachine, 0, 18, m);
    file.type_ = static_cast<std::uint16_t>(file.read(16, 2));
    if (file.type_ != elf::kTypeExec && file.type_ != elf::kTypeDyn)
        return fail<ElfFile>(ElfErrorCode::BadType, 0, 16, file.type_);
    if (const auto v = file.read(20, 4); v != elf::kVersionCurrent)
        return fail<ElfFile>(ElfErrorCode::BadVersion, 0, 20, v);
    file.entry_ = file.read(24, 8);
    file.header_flags_ = static_cast<std::uint32_t>(file.read(48, 4));
    if (const auto s = file.read(52, 2); s != elf::kHeaderSize)
        return fail<ElfFile>(ElfErrorCode::BadHeaderSize, 0, 52, s);

    if (auto sections = file.parse_sections(file.read(40, 8), static_cast<std::uint16_t>(file.read(60, 2)),
                                            static_cast<std::uint16_t>(file.read(58, 2)),
                                            static_cast<std::uint16_t>(file.read(62, 2)));
        !sections)
        return elf_detail::pass<ElfFile>(sections.error());

    file.phoff_ = file.read(32, 8);
    std::uint64_t phnum = file.read(56, 2);
    if (phnum == elf::kPnXnum) {
        // The real count lives in section 0's sh_info (gABI extended numbering).
        if (file.shnum_ == 0) return fail<ElfFile>(ElfErrorCode::ExtendedCountWithoutSections);
        phnum = file.read(file.shoff_ + 44, 4);
    }
    if (phnum != 0) {
        if (const auto s = file.read(54, 2); s != elf::kProgramHeaderSize)
            return fail<ElfFile>(ElfErrorCode::BadProgramHeaderSize, 0, 54, s);
    }
    // phnum <= 2^32 so the product cannot overflow.
    if (!elf_detail::fits(file.phoff_, phnum * elf::kProgramHeaderSize, bytes.size()))
        return fail<ElfFile>(ElfErrorCode::ProgramHeadersOutsideFile, 0, file.phoff_, phnum, bytes.size());
    file.phnum_ = static_cast<std::size_t>(phnum);

    if (auto segments = file.parse_segments(); !segments) return elf_detail::pass<ElfFile>(segments.error());
    if (auto dynamic = file.parse_dynamic(); !dynamic) return elf_detail::pass<ElfFile>(dynamic.error());
    return file;
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_sections(std::uint64_t e_shoff, std::uint16_t e_shnum,
                                                                 std::uint16_t e_shentsize, std::uint16_t e_shstrndx) {
    using elf_detail::fail;
    if (e_shoff == 0) return {};  // no section header table: e_shnum is meaningless then
    if (e_shentsize != elf::kSectionHeaderSize)
        return fail(ElfErrorCode::BadSectionHeaderSize, 0, 58, e_shentsize);
    // Entry 0 may hold the real count; until it is readable, report e_shnum
    // (a truncated file's header still says how many there were).
    if (!elf_detail::fits(e_shoff, elf::kSectionHeaderSize, bytes_.size()))
        return fail(ElfErrorCode::SectionHeadersOutsideFile, 0, e_shoff, e_shnum != 0 ? e_shnum : 1, bytes_.size());
    // Extended numbering: counts that do not fit 16 bits live in section 0.
    const std::uint64_t shnum = e_shnum == 0 ? read(e_shoff + 32, 8) : e_shnum;
    const std::uint64_t shstrndx = e_shstrndx == elf::kShnXindex ? read(e_shoff + 40, 4) : e_shstrndx;
    if (shnum > bytes_.size() / elf::kSectionHeaderSize ||
        !elf_detail::fits(e_shoff, shnum * elf::kSectionHeaderSize, bytes_.size()))
        return fail(ElfErrorCode::SectionHeadersOutsideFile, 0, e_shoff, shnum, bytes_.size());
    shoff_ = e_shoff;
    shnum_ = static_cast<std::size_t>(shnum);
    if (shnum_ == 0) return {};
    if (shstrndx != elf::kShnUndef && shstrndx >= shnum)
        return fail(ElfErrorCode::BadSectionNameTableIndex, 0, 62, shstrndx, shnum);

    for (std::size_t i = 0; i < shnum_; ++i) {
        const std::uint64_t at = shoff_ + i * elf::kSectionHeaderSize;
        const auto type = read(at + 4, 4);
        const auto offset = read(at + 24, 8);
        const auto size = read(at + 32, 8);
        if (type != elf::kShtNobits && type != elf::kShtNull && !elf_detail::fits(offset, size, bytes_.size()))
            return fail(ElfErrorCode::SectionOutsideFile, i, offset, size, bytes_.size());
    }
    if (shstrndx == elf::kShnUndef) return {};
    const std::uint64_t names_at = shoff_ + shstrndx * elf::kSectionHeaderSize;
    if (read(names_at + 4, 4) == elf::kShtNobits)
        return fail(ElfErrorCode::BadSectionNameTableIndex, 0, 62, shstrndx, shnum);
    shstr_offset_ = read(names_at + 24, 8);
    shstr_size_ = read(names_at + 32, 8);
    // The loop above skips SHT_NULL sections, which the name table may claim
    // to be (found by fuzzing): its bytes are read, so check them here.
    if (!elf_detail::fits(shstr_offset_, shstr_size_, bytes_.size()))
        return fail(ElfErrorCode::SectionOutsideFile, shstrndx, shstr_offset_, shstr_size_, bytes_.size());
    has_section_names_ = true;
    for (std::size_t i = 0; i < shnum_; ++i) {
        const std::uint64_t name = read(shoff_ + i * elf::kSectionHeaderSize, 4);
        if (!elf_detail::c_string(section_names(), name).ok)
            return fail(ElfErrorCode::SectionNameOutOfRange, i, 0, name, shstr_size_);
    }
    return {};
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_segments() {
    using elf_detail::fail;
    std::ptrdiff_t previous_load = -1;
    std::uint64_t previous_end = 0;
    for (std::size_t i = 0; i < phnum_; ++i) {
        const ProgramHeader ph = program_header(i);
        if (!elf_detail::fits(ph.offset, ph.filesz, bytes_.size()))
            return fail(ElfErrorCode::SegmentOutsideFile, i, ph.offset, ph.filesz, bytes_.size());
        if (ph.align > 1 && !kmem::is_power_of_two(ph.align))
            return fail(ElfErrorCode::SegmentAlignmentNotPowerOfTwo, i, 0, ph.align);
        std::uint64_t end = 0;
        if (__builtin_add_overflow(ph.vaddr, ph.memsz, &end))
            return fail(ElfErrorCode::SegmentAddressOverflow, i, ph.vaddr, ph.memsz);
        // Only segments that occupy memory have a file prefix of their memory
        // image; e.g. PT_RISCV_ATTRIBUTES has p_filesz > 0 and p_memsz 0.
        if ((ph.type == elf::kPtLoad || ph.type == elf::kPtTls) && ph.filesz > ph.memsz)
            return fail(ElfErrorCode::SegmentFileSizeExceedsMemorySize, i, ph.offset, ph.filesz, ph.memsz);

        // The segment types that may appear once: where the index goes.
        std::ptrdiff_t* unique = nullptr;
        std::string_view what{};
        switch (ph.type) {
        case elf::kPtLoad: {
            if (ph.align > 1 && (ph.vaddr & (ph.align - 1)) != (ph.offset & (ph.align - 1)))
                return fail(ElfErrorCode::SegmentMisaligned, i, ph.offset, ph.vaddr, ph.align);
            // gABI: PT_LOAD entries are sorted by p_vaddr, which makes the
            // overlap check one comparison with the previous segment.
            if (previous_load >= 0 && ph.memsz != 0 && ph.vaddr < previous_end) {
                const ProgramHeader prev = program_header(static_cast<std::size_t>(previous_load));
                const auto code = ph.vaddr >= prev.vaddr || end > prev.vaddr ? ElfErrorCode::SegmentsOverlap
                                                                            : ElfErrorCode::SegmentsOutOfOrder;
                return fail(code, i, ph.vaddr, previous_end, static_cast<std::uint64_t>(previous_load));
            }
            ++load_count_;
            if (ph.memsz == 0) break;
            if (previous_load < 0) image_begin_ = ph.vaddr;
            image_end_ = end;
            previous_load = static_cast<std::ptrdiff_t>(i);
            previous_end = end;
            break;
        }
        case elf::kPtTls: unique = &tls_index_; what = "PT_TLS"; break;
        case elf::kPtGnuRelro: unique = &relro_index_; what = "PT_GNU_RELRO"; break;
        case elf::kPtGnuStack: unique = &stack_index_; what = "PT_GNU_STACK"; break;
        case elf::kPtDynamic: unique = &dynamic_index_; what = "PT_DYNAMIC"; break;
        default: break;
        }
        if (unique == nullptr) continue;
        if (*unique >= 0) return fail(ElfErrorCode::DuplicateSegment, i, 0, 0, static_cast<std::uint64_t>(*unique), what);
        *unique = static_cast<std::ptrdiff_t>(i);
    }
    if (previous_load < 0) return fail(ElfErrorCode::NoLoadSegments);
    if (relro_index_ >= 0) {
        // GNU ld rounds the end of PT_GNU_RELRO up to a page, past its
        // PT_LOAD's p_memsz, so only the start is checked.
        const ProgramHeader r = program_header(static_cast<std::size_t>(relro_index_));
        bool inside = false;
        for (const Segment s : load_segments()) inside = inside || s.range().contains(kmem::VirtualAddress(r.vaddr));
        if (!inside && r.memsz != 0)
            return fail(ElfErrorCode::RelroOutsideLoad, static_cast<std::size_t>(relro_index_), r.vaddr);
    }
    return {};
}

constexpr kmem::Expected<void, ElfError> ElfFile::parse_dynamic() {
    using elf_detail::fail;
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
            return fail(ElfErrorCode::DynamicMissingTag, 0, 0, 0, 0, address.present ? what : size_what);
        if (entsize.present && entsize.value != want_entsize)
            return fail(ElfErrorCode::DynamicBadEntrySize, 0, 0, entsize.value, want_entsize, ent_what);
        if (size.value % want_entsize != 0)
            return fail(ElfErrorCode::DynamicBadTableSize, 0, 0, size.value, want_entsize, size_what);
        return table(address.value, size.value, what, out);
    };
    // Skipping a DT_REL table would leave the image unrelocated without a word.
    if (rel.present) return fail(ElfErrorCode::UnsupportedRelTable, 0, rel.value);
    if (auto r = sized_table(rela, relasz, relaent, elf::kRelaEntrySize, "DT_RELA", "DT_RELASZ", "DT_RELAENT", d.rela);
        !r)
        return elf_detail::pass(r.error());
    if (pltrel.present && pltrel.value != elf::kDtRela)
        return fail(ElfErrorCode::UnsupportedPltRel, 0, 0, pltrel.value);
    if (auto r = sized_table(jmprel, pltrelsz, Tag{}, elf::kRelaEntrySize, "DT_JMPREL", "DT_PLTRELSZ", "DT_PLTREL",
                             d.jmprel);
        !r)
        return elf_detail::pass(r.error());
    if (auto r = sized_table(relr, relrsz, relrent, elf::kRelrEntrySize, "DT_RELR", "DT_RELRSZ", "DT_RELRENT", d.relr);
        !r)
        return elf_detail::pass(r.error());
    if (strtab.present || strsz.present) {
        if (!strtab.present || !strsz.present)
            return fail(ElfErrorCode::DynamicMissingTag, 0, 0, 0, 0, strtab.present ? "DT_STRTAB" : "DT_STRSZ");
        if (auto r = table(strtab.value, strsz.value, "DT_STRTAB", d.strtab); !r) return elf_detail::pass(r.error());
    }
    if (symtab.present) {
        if (syment.present && syment.value != elf::kSymbolSize)
            return fail(ElfErrorCode::DynamicBadEntrySize, 0, 0, syment.value, elf::kSymbolSize, "DT_SYMENT");
        if (auto r = table(symtab.value, 0, "DT_SYMTAB", d.symtab); !r) return elf_detail::pass(r.error());
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

}  // namespace loader_api

#include "loader_api/elf/relocation.hpp"
