// libFuzzer target for the ELF reader: whatever the bytes, parse() and every
// accessor must stay inside them (ASan) without undefined behaviour (UBSan).

#include <cstddef>
#include <cstdint>
#include <span>

#include "loader_api/elf.hpp"

namespace {
struct CountingSink {
    std::size_t count = 0;
    void put(char) { ++count; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    const auto parsed = loader_api::ElfFile::parse(bytes);
    CountingSink sink;
    if (!parsed) {
        parsed.error().format(sink);
        return 0;
    }
    const loader_api::ElfFile& file = *parsed;
    std::uint64_t sum = 0;
    for (const loader_api::Segment s : file.load_segments()) {
        for (const std::byte b : s.file_bytes) sum += std::to_integer<std::uint8_t>(b);
        sum += s.range().size() + (s.write_execute() ? 1 : 0);
    }
    for (std::size_t i = 0; i < file.program_header_count(); ++i) sum += file.program_header(i).memsz;
    const auto tls = file.tls();
    for (const std::byte b : tls.init_image) sum += std::to_integer<std::uint8_t>(b);
    sum += file.relro().range.size() + file.stack().flags + file.image_range().size();
    const auto counts = file.relocation_counts();
    sum += counts.rela + counts.jmprel + counts.relr_relative;
    for (std::size_t i = 0; i < file.section_count(); ++i) {
        const auto section = file.section(i);
        for (const std::byte b : section.bytes) sum += std::to_integer<std::uint8_t>(b);
        sum += section.name().size();
    }
    if (const auto config = file.find_section(".loader_config")) sum += config->bytes.size();
    else config.error().format(sink);
    const auto relocated = file.for_each_relocation(0x80000000, [&](const loader_api::Relocation& r) {
        sum += r.value + r.target.value();
    });
    if (!relocated) relocated.error().format(sink);
    if (const auto wx = file.check_no_write_execute(); !wx) wx.error().format(sink);
    if (const auto entry = file.check_entry_executable(); !entry) entry.error().format(sink);
    // Keeps the reads from being optimised away.
    asm volatile("" : : "r"(sum), "r"(sink.count));
    return 0;
}
