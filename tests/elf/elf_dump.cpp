// Prints what the ELF reader sees in a file, one fact per line, for
// compare_readelf.py to check against binutils readelf (and llvm-readelf).
// Usage: elf_dump FILE [SLIDE]

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "loader_api/elf.hpp"

namespace {

struct StdoutSink {
    std::string text;
    void put(char c) { text.push_back(c); }
};

template <class E>
std::string formatted(const E& error) {
    StdoutSink sink;
    error.format(sink);
    return sink.text;
}

unsigned long long u(std::uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE [SLIDE]\n", argv[0]);
        return 2;
    }
    const std::uint64_t slide = argc > 2 ? std::strtoull(argv[2], nullptr, 0) : 0;
    std::FILE* in = std::fopen(argv[1], "rb");
    if (in == nullptr) {
        std::perror(argv[1]);
        return 2;
    }
    std::vector<std::byte> bytes;
    std::byte buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) bytes.insert(bytes.end(), buffer, buffer + n);
    std::fclose(in);

    auto parsed = loader_api::ElfFile::parse(bytes);
    if (!parsed) {
        std::printf("parse-error %s\n", formatted(parsed.error()).c_str());
        return 0;
    }
    const loader_api::ElfFile& file = *parsed;
    std::printf("type %u\nentry 0x%llx\npie %d\n", file.type(), u(file.entry().value()), file.is_pie() ? 1 : 0);
    for (std::size_t i = 0; i < file.program_header_count(); ++i) {
        const auto ph = file.program_header(i);
        std::printf("phdr %zu 0x%x 0x%llx 0x%llx 0x%llx 0x%llx 0x%x 0x%llx\n", i, ph.type, u(ph.offset), u(ph.vaddr),
                    u(ph.filesz), u(ph.memsz), ph.flags, u(ph.align));
    }
    for (const loader_api::Segment s : file.load_segments())
        std::printf("load %zu 0x%llx 0x%llx 0x%llx %c%c%c wx=%d\n", s.index, u(s.vaddr.value()), u(s.memsz),
                    u(s.file_bytes.size()), s.readable() ? 'R' : '-', s.writable() ? 'W' : '-',
                    s.executable() ? 'X' : '-', s.write_execute() ? 1 : 0);
    const auto image = file.image_range();
    std::printf("image 0x%llx 0x%llx\n", u(image.begin().value()), u(image.end().value()));
    if (const auto tls = file.tls(); tls.present)
        std::printf("tls %zu 0x%llx 0x%zx 0x%llx 0x%llx\n", tls.index, u(tls.vaddr.value()), tls.init_image.size(),
                    u(tls.memsz), u(tls.align));
    if (const auto relro = file.relro(); relro.present)
        std::printf("relro %zu 0x%llx 0x%llx\n", relro.index, u(relro.range.begin().value()), u(relro.range.end().value()));
    if (const auto stack = file.stack(); stack.present) std::printf("stack 0x%x\n", stack.flags);
    const auto& dyn = file.dynamic();
    if (dyn.present) {
        auto table = [](const char* name, const loader_api::DynamicTable& t) {
            if (t.present)
                std::printf("table %s 0x%llx 0x%llx 0x%llx\n", name, u(t.vaddr), u(t.file_offset), u(t.size));
        };
        table("rela", dyn.rela);
        table("jmprel", dyn.jmprel);
        table("relr", dyn.relr);
        table("symtab", dyn.symtab);
        table("strtab", dyn.strtab);
        std::printf("dynflags 0x%llx 0x%llx textrel=%d now=%d\n", u(dyn.flags), u(dyn.flags_1), dyn.has_textrel() ? 1 : 0,
                    dyn.now() ? 1 : 0);
    }
    const auto counts = file.relocation_counts();
    std::printf("counts %llu %llu %d %llu %llu\n", u(counts.rela), u(counts.jmprel), counts.jmprel_in_rela ? 1 : 0,
                u(counts.relr_entries), u(counts.relr_relative));
    for (std::size_t i = 0; i < file.section_count(); ++i) {
        const auto s = file.section(i);
        std::printf("section %zu %s 0x%llx 0x%llx 0x%llx\n", i, s.name().empty() ? "-" : std::string(s.name()).c_str(),
                    u(s.address.value()), u(s.offset), u(s.size));
    }
    if (auto config = file.find_section(".loader_config")) {
        std::printf("loader_config 0x%llx", u(config->address.value()));
        for (const std::byte b : config->bytes) std::printf(" %02x", std::to_integer<unsigned>(b));
        std::printf("\n");
    } else {
        std::printf("no-loader_config %s\n", formatted(config.error()).c_str());
    }
    const auto applied = file.for_each_relocation(slide, [](const loader_api::Relocation& r) {
        std::printf("reloc %s %zu %u 0x%llx 0x%llx\n", std::string(loader_api::relocation_source_name(r.source)).c_str(),
                    r.index, r.type, u(r.target.value()), u(r.value));
    });
    if (!applied) {
        const auto& e = applied.error();
        if (e.code == loader_api::ElfErrorCode::UnsupportedRelocation)
            std::printf("reloc-error unsupported %s %llu %llu\n", std::string(e.what).c_str(), u(e.index), u(e.value));
        else if (e.code == loader_api::ElfErrorCode::UndefinedSymbol)
            std::printf("reloc-error undefined %s %llu %s\n", std::string(e.what).c_str(), u(e.index),
                        std::string(e.name_view()).c_str());
        else
            std::printf("reloc-error other\n");
        std::printf("reloc-message %s\n", formatted(e).c_str());
    }
    if (const auto wx = file.check_no_write_execute(); !wx) std::printf("wx-error %s\n", formatted(wx.error()).c_str());
    return 0;
}
